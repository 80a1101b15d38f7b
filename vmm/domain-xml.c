/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "domain-xml.h"
#include "util.h"

char *vmm_xml_escape(const char *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                abort();
        for (; *s; s++) {
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '\'':
                        fputs("&apos;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                default:
                        fputc(*s, f);
                }
        }
        fclose(f);
        return buf;
}

int vmm_parse_version(const char *s, unsigned long *ret)
{
        unsigned major, minor = 0, micro = 0;
        char tail;
        int n = sscanf(s, "%u.%u.%u%c", &major, &minor, &micro, &tail);
        if (n < 1 || n > 3 || minor > 999 || micro > 999)
                return -EINVAL;
        *ret = VMM_LIBVIRT_VERSION(major, minor, micro);
        return 0;
}

/* Write <tag>escaped text</tag> with indentation. */
static void element(FILE *f, int indent, const char *tag, const char *text)
{
        _cleanup_free_ char *e = vmm_xml_escape(text);
        fprintf(f, "%*s<%s>%s</%s>\n", indent, "", tag, e, tag);
}

static void os_section(FILE *f, const struct vmm_domain_spec *s)
{
        const struct cfg_class *c = s->launch->cls;
        bool confidential = c->tee != CFG_TEE_NONE;

        fprintf(f, "  <os>\n    <type arch='x86_64' machine='%s'>hvm</type>\n",
                confidential ? "q35" : "pc");
        if (c->firmware) {
                _cleanup_free_ char *fw = vmm_xml_escape(c->firmware);
                fprintf(f, "    <loader type='rom'>%s</loader>\n", fw);
        }
        element(f, 4, "kernel", c->kernel);
        element(f, 4, "initrd", c->initrd);
        element(f, 4, "cmdline", s->launch->cmdline);
        fprintf(f, "  </os>\n");
}

static void cpu_section(FILE *f, const struct cfg_class *c)
{
        if (c->vcpu_model) {
                _cleanup_free_ char *m = vmm_xml_escape(c->vcpu_model);
                fprintf(f,
                        "  <cpu mode='custom' match='exact' check='none'>\n"
                        "    <model fallback='forbid'>%s</model>\n  </cpu>\n",
                        m);
        } else if (c->accelerator == CFG_ACCEL_KVM)
                fprintf(f, "  <cpu mode='host-passthrough' check='none'/>\n");
}

static void snp_native(FILE *f, const struct vmm_domain_spec *s)
{
        const struct cfg_class *c = s->launch->cls;
        fprintf(f,
                "  <launchSecurity type='sev-snp' kernelHashes='yes' authorKey='no' vcek='yes'>\n"
                "    <cbitpos>%u</cbitpos>\n    <reducedPhysBits>%u</reducedPhysBits>\n"
                "    <policy>0x%08llx</policy>\n",
                s->cbitpos, s->reduced_phys_bits, (unsigned long long)c->snp_policy);
        if (s->launch->has_initdata) {
                _cleanup_free_ char *hd =
                        base64_encode(s->launch->host_data, sizeof(s->launch->host_data));
                fprintf(f, "    <hostData>%s</hostData>\n", hd);
        }
        fprintf(f, "  </launchSecurity>\n");
}

static void tdx_native(FILE *f, const struct vmm_domain_spec *s)
{
        const struct cfg_class *c = s->launch->cls;
        fprintf(f, "  <launchSecurity type='tdx'>\n    <policy>0x%08llx</policy>\n",
                (unsigned long long)c->tdx_attributes);
        if (s->launch->has_initdata) {
                _cleanup_free_ char *id =
                        base64_encode(s->launch->mrconfigid, sizeof(s->launch->mrconfigid));
                fprintf(f, "    <mrConfigId>%s</mrConfigId>\n", id);
        }
        if (c->tdx_quote_socket) {
                _cleanup_free_ char *q = vmm_xml_escape(c->tdx_quote_socket);
                fprintf(f, "    <quoteGenerationService path='%s'/>\n", q);
        }
        fprintf(f, "  </launchSecurity>\n");
}

static void qemu_arg(FILE *f, const char *value)
{
        _cleanup_free_ char *v = vmm_xml_escape(value);
        fprintf(f, "    <qemu:arg value='%s'/>\n", v);
}

/* The launch security object and machine options through QEMU's command line. */
static void passthrough(FILE *f, const struct vmm_domain_spec *s)
{
        const struct cfg_class *c = s->launch->cls;
        _cleanup_free_ char *obj = NULL;

        if (c->tee == CFG_TEE_SNP) {
                _cleanup_free_ char *hd =
                        s->launch->has_initdata ? base64_encode(s->launch->host_data, 32) : NULL;
                obj = xasprintf("sev-snp-guest,id=sev0,cbitpos=%u,reduced-phys-bits=%u,"
                                "policy=0x%llx,kernel-hashes=on%s%s",
                                s->cbitpos, s->reduced_phys_bits, (unsigned long long)c->snp_policy,
                                hd ? ",host-data=" : "", hd ? hd : "");
        } else {
                _cleanup_free_ char *id =
                        s->launch->has_initdata ? base64_encode(s->launch->mrconfigid, 48) : NULL;
                _cleanup_free_ char *q = c->tdx_quote_socket
                                                 ? xasprintf(",quote-generation-socket.type=unix,"
                                                             "quote-generation-socket.path=%s",
                                                             c->tdx_quote_socket)
                                                 : NULL;
                obj = xasprintf("tdx-guest,id=tdx0,attributes=0x%llx%s%s%s",
                                (unsigned long long)c->tdx_attributes, id ? ",mrconfigid=" : "",
                                id ? id : "", q ? q : "");
        }
        fprintf(f, "  <qemu:commandline>\n");
        qemu_arg(f, "-object");
        qemu_arg(f, obj);
        qemu_arg(f, "-machine");
        qemu_arg(f, c->tee == CFG_TEE_SNP ? "confidential-guest-support=sev0"
                                          : "confidential-guest-support=tdx0,kernel-irqchip=split");
        fprintf(f, "  </qemu:commandline>\n");
}

static void devices(FILE *f, const struct vmm_domain_spec *s)
{
        _cleanup_free_ char *dir = vmm_xml_escape(s->run_dir);
        bool confidential = s->launch->cls->tee != CFG_TEE_NONE;
        const char *iommu = confidential ? " iommu='on'" : "";

        fprintf(f, "  <devices>\n");
        if (s->initdata_disk)
                fprintf(f,
                        "    <disk type='file' device='disk'>\n"
                        "      <driver name='qemu' type='raw'%s/>\n"
                        "      <source file='%s/" VMM_INITDATA_DISK "'/>\n"
                        "      <target dev='vda' bus='virtio'/>\n"
                        "      <readonly/>\n"
                        "      <serial>initdata</serial>\n"
                        "    </disk>\n",
                        iommu, dir);
        for (size_t i = 0; i < s->n_nics; i++) {
                _cleanup_free_ char *tap = vmm_xml_escape(s->nics[i].tap);
                _cleanup_free_ char *mac = vmm_xml_escape(s->nics[i].mac);
                fprintf(f,
                        "    <interface type='ethernet'>\n"
                        "      <mac address='%s'/>\n"
                        "      <target dev='%s' managed='no'/>\n"
                        "      <model type='virtio'/>\n",
                        mac, tap);
                if (confidential)
                        fprintf(f, "      <driver iommu='on'/>\n");
                if (s->nics[i].mtu)
                        fprintf(f, "      <mtu size='%u'/>\n", s->nics[i].mtu);
                fprintf(f, "    </interface>\n");
        }
        if (s->vsock)
                fprintf(f, "    <vsock model='virtio'>\n      <cid auto='yes'/>\n%s    </vsock>\n",
                        confidential ? "      <driver iommu='on'/>\n" : "");
        else {
                if (confidential)
                        fprintf(f, "    <controller type='virtio-serial' index='0'>\n"
                                   "      <driver iommu='on'/>\n"
                                   "    </controller>\n");
                fprintf(f,
                        "    <channel type='unix'>\n"
                        "      <source mode='bind' path='%s/" VMM_AGENT_SOCKET "'/>\n"
                        "      <target type='virtio' name='agent.channel.0'/>\n"
                        "    </channel>\n",
                        dir);
        }
        if (!confidential) /* the confidential classes have no console: nothing leaves the guest */
                fprintf(f,
                        "    <serial type='file'>\n"
                        "      <source path='%s/" VMM_CONSOLE_LOG "'/>\n"
                        "      <target port='0'/>\n"
                        "    </serial>\n",
                        dir);
        fprintf(f,
                "    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n"
                "%s    </rng>\n"
                "    <memballoon model='none'/>\n"
                "  </devices>\n",
                confidential ? "      <driver iommu='on'/>\n" : "");
}

int vmm_domain_xml(const struct vmm_domain_spec *s, char **ret_xml, struct coco_error **err)
{
        const struct cfg_class *c = s->launch->cls;
        bool native = (c->tee == CFG_TEE_SNP && s->libvirt_version >= VMM_SNP_NATIVE) ||
                      (c->tee == CFG_TEE_TDX && s->libvirt_version >= VMM_TDX_NATIVE);
        bool pass = c->tee != CFG_TEE_NONE && !native;
        char *buf = NULL;
        size_t len = 0;

        if (!s->name || strspn(s->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_.-") != strlen(s->name))
                return coco_error_set(err, EINVAL, "domain name \"%s\" is not valid",
                                      s->name ? s->name : "");
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        _cleanup_free_ char *name = vmm_xml_escape(s->name);
        fprintf(f, "<domain type='%s'%s>\n  <name>%s</name>\n",
                c->accelerator == CFG_ACCEL_KVM ? "kvm" : "qemu",
                pass ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : "", name);
        fprintf(f, "  <memory unit='MiB'>%llu</memory>\n  <vcpu placement='static'>%u</vcpu>\n",
                (unsigned long long)s->launch->memory_mib, s->launch->vcpus);
        os_section(f, s);
        fprintf(f, "  <features>\n    <acpi/>\n  </features>\n");
        cpu_section(f, c);
        fprintf(f, "  <clock offset='utc'/>\n"
                   "  <on_poweroff>destroy</on_poweroff>\n"
                   "  <on_reboot>destroy</on_reboot>\n"
                   "  <on_crash>destroy</on_crash>\n");
        devices(f, s);
        if (native && c->tee == CFG_TEE_SNP)
                snp_native(f, s);
        else if (native)
                tdx_native(f, s);
        else if (pass)
                passthrough(f, s);
        fprintf(f, "</domain>\n");
        fclose(f);
        *ret_xml = buf;
        return 0;
}
