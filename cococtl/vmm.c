/* SPDX-License-Identifier: Apache-2.0 */
/* cococtl domain-xml and cococtl check */
#include <getopt.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "cococtl.h"
#include "domain-xml.h"
#include "initdata.h"
#include "preflight.h"
#include "util.h"

int cmd_domain_xml(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"initdata", required_argument, NULL, 'i'},
                {"libvirt-version", required_argument, NULL, 'l'},
                {"name", required_argument, NULL, 'n'},
                {"run-dir", required_argument, NULL, 'r'},
                {"transport", required_argument, NULL, 't'},
                {"nic", required_argument, NULL, 'N'},
                {},
        };
        struct vmm_nic nics[VMM_NIC_MAX] = {0};
        size_t n_nics = 0;
        const char *config = NULL, *initdata = NULL, *version = NULL, *transport = NULL;
        const char *name = "coco-example", *run_dir = NULL;
        _cleanup_(cfg_class_freep) struct cfg_class *c = NULL;
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        _cleanup_(cfg_launch_done) struct cfg_launch l = {0};
        _cleanup_error_ struct coco_error *err = NULL;
        _cleanup_free_ char *xml = NULL, *dir = NULL;
        unsigned long v = 0;
        int o, r;

        optind = 1;
        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (o) {
                case 'c':
                        config = optarg;
                        break;
                case 'i':
                        initdata = optarg;
                        break;
                case 'l':
                        version = optarg;
                        break;
                case 'n':
                        name = optarg;
                        break;
                case 'r':
                        run_dir = optarg;
                        break;
                case 't':
                        transport = optarg;
                        break;
                case 'N': { /* TAP,MAC[,MTU]: what the network code would have made */
                        struct vmm_nic *n = &nics[n_nics];
                        if (n_nics == VMM_NIC_MAX || sscanf(optarg, "%15[^,],%17[0-9a-fA-F:],%u",
                                                            n->tap, n->mac, &n->mtu) < 2)
                                return usage_error("--nic \"%s\" is not TAP,MAC[,MTU]", optarg);
                        n_nics++;
                        break;
                }
                default:
                        return usage_error("domain-xml: bad option");
                }
        }
        if (!config || optind != argc)
                return usage_error("domain-xml needs --config CLASS.json");
        if (version && vmm_parse_version(version, &v) < 0)
                return usage_error("--libvirt-version \"%s\" is not X.Y.Z", version);
        if (transport && strcmp(transport, "vsock") && strcmp(transport, "virtio-serial"))
                return usage_error("--transport must be vsock or virtio-serial");
        if (!version && virGetVersion(&v, NULL, NULL) < 0)
                v = 0; /* the libvirt library installed here */
        if ((r = cfg_class_load(config, &c, &err)) < 0 ||
            (initdata && (r = initdata_from_file(initdata, &id, &err)) < 0) ||
            (r = cfg_launch_build(c, id, NULL, &l, &err)) < 0)
                return fail_with(err, r);
        dir = run_dir ? xstrdup(run_dir) : xasprintf("%s/%s", c->state_dir, name);
        struct vmm_domain_spec spec = {
                .launch = &l,
                .name = name,
                .run_dir = dir,
                .initdata_disk = id != NULL,
                .vsock = transport ? strcmp(transport, "vsock") == 0
                                   : c->transport == CFG_TRANSPORT_VSOCK,
                .nics = nics,
                .n_nics = n_nics,
                .libvirt_version = v,
                .cbitpos = c->snp_cbitpos,
                .reduced_phys_bits = c->snp_reduced_phys_bits,
        };
        if ((r = vmm_domain_xml(&spec, &xml, &err)) < 0)
                return fail_with(err, r);
        fputs(xml, stdout);
        return 0;
}

int cmd_check(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {},
        };
        const char *config = "/opt/coco/etc/dev.json";
        _cleanup_(cfg_class_freep) struct cfg_class *c = NULL;
        _cleanup_(vmm_libvirt_closep) struct vmm_libvirt *lv = NULL;
        _cleanup_error_ struct coco_error *err = NULL, *lverr = NULL;
        struct preflight p;
        int o;

        optind = 1;
        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (o != 'c')
                        return usage_error("check: bad option");
                config = optarg;
        }
        if (optind != argc)
                return usage_error("check takes only --config CLASS.json");
        int r = cfg_class_load(config, &c, &err);
        if (r < 0)
                return fail_with(err, r);
        (void)vmm_libvirt_open(c->libvirt_uri, &lv, &lverr);
        vmm_preflight(c, lv, lverr ? lverr->message : NULL, &p);
        printf("class %s (tee %s)\n", config, cfg_tee_name(c->tee));
        for (size_t i = 0; i < p.n; i++)
                printf("  %-5s %-12s %s\n",
                       p.items[i].status == PREFLIGHT_OK     ? "ok"
                       : p.items[i].status == PREFLIGHT_FAIL ? "FAIL"
                                                             : "info",
                       p.items[i].item, p.items[i].detail);
        unsigned failures = p.failures;
        vmm_preflight_done(&p);
        printf("%s\n", failures ? "this host cannot run the class" : "this host can run the class");
        return failures ? 1 : 0;
}
