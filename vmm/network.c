/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod's network namespace joined to the VM's taps (see network.h).
 * A netlink socket belongs to the namespace its creator was in, so each
 * socket is opened inside the namespace it works on (setns on this thread
 * only, then back).
 */
#include <net/if.h> /* before the kernel headers */

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>
#include <netlink/route/tc.h>

#include "log.h"
#include "network.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_qdisc *, rtnl_qdisc_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_cls *, rtnl_cls_put)

#define INGRESS_HANDLE TC_HANDLE(0xffff, 0)

static int nl_fail(struct coco_error **err, int nlerr, const char *what, const char *dev)
{
        return coco_error_set(err, EIO, "%s %s: %s", what, dev, nl_geterror(nlerr));
}

/* A route netlink socket in the namespace at path (NULL: this one). */
static int nl_open(const char *netns, struct nl_sock **ret, struct coco_error **err)
{
        _cleanup_close_ int self = -EBADF, target = -EBADF;
        int r;

        if (netns) {
                self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
                target = open(netns, O_RDONLY | O_CLOEXEC);
                if (target < 0)
                        return coco_error_set(err, errno,
                                              "the pod's network namespace %s: %s (is the "
                                              "path in the OCI spec's linux.namespaces right?)",
                                              netns, strerror(errno));
                if (self < 0 || setns(target, CLONE_NEWNET) < 0)
                        return coco_error_set(err, errno, "entering network namespace %s: %s",
                                              netns, strerror(errno));
        }
        struct nl_sock *sk = nl_socket_alloc();
        r = sk ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
        if (netns && setns(self, CLONE_NEWNET) < 0)
                abort(); /* a thread stuck in the pod's namespace must not go on */
        if (r < 0) {
                nl_socket_free(sk);
                return nl_fail(err, r, "netlink socket in", netns ? netns : "this namespace");
        }
        *ret = sk;
        return 0;
}

/* Pod interfaces: up, Ethernet, not loopback, not a tap (ours or anyone's). */
static bool is_pod_interface(struct rtnl_link *l)
{
        const char *kind = rtnl_link_get_type(l);
        return rtnl_link_get_arptype(l) == ARPHRD_ETHER &&
               !(rtnl_link_get_flags(l) & IFF_LOOPBACK) && (rtnl_link_get_flags(l) & IFF_UP) &&
               !(kind && strcmp(kind, "tun") == 0);
}

static void tap_name(char out[IFNAMSIZ], const char *sandbox_id, size_t i)
{
        uint32_t h = 2166136261u; /* FNV-1a: short, stable names from the sandbox id */
        for (const char *p = sandbox_id; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        snprintf(out, IFNAMSIZ, "coco%08x-%zu", h, i);
}

static int tap_create(const char *name, struct coco_error **err)
{
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

        if (if_nametoindex(name) != 0)
                return coco_error_set(err, EEXIST,
                                      "a link named %s exists already; it is left from an "
                                      "earlier VM of this pod or another pod hashes to the "
                                      "same name: remove it (ip link del %s) and retry",
                                      name, name);
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return coco_error_set(err, errno, "/dev/net/tun: %s (is the tun module loaded?)",
                                      strerror(errno));
        if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
                return coco_error_set(err, errno, "creating tap %s: %s", name, strerror(errno));
        return 0;
}

static json_t *state_json(const struct vmm_net *net)
{
        json_t *nics = json_array();
        for (size_t i = 0; i < net->n; i++) {
                const struct vmm_nic *n = &net->nics[i];
                json_array_append_new(nics,
                                      json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", n->name, "tap",
                                                n->tap, "tap_moved", n->tap_moved, "qdisc_added",
                                                n->qdisc_added, "filter_added", n->filter_added));
        }
        return json_pack("{s:s, s:o}", "netns", net->netns, "nics", nics);
}

static int state_save(const struct vmm_net *net, const char *run_dir, struct coco_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/" VMM_NET_STATE, run_dir);
        _cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
        _cleanup_(json_decrefp) json_t *j = state_json(net);
        if (json_dump_file(j, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
                int e = errno;
                (void)unlink(tmp);
                return coco_error_set(err, EIO, "writing %s: %s", path, strerror(e));
        }
        return 0;
}

static int state_load(const char *run_dir, struct vmm_net *net, struct coco_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/" VMM_NET_STATE, run_dir);
        json_error_t je;
        _cleanup_(json_decrefp) json_t *j = json_load_file(path, 0, &je);
        if (!j)
                return access(path, F_OK) == 0
                               ? coco_error_set(err, EINVAL, "%s is damaged: %s", path, je.text)
                               : 0;
        const char *netns = json_string_value(json_object_get(j, "netns"));
        json_t *nics = json_object_get(j, "nics"), *o;
        size_t i;
        net->netns = xstrdup(netns ? netns : "");
        json_array_foreach(nics, i, o)
        {
                if (net->n == VMM_NIC_MAX)
                        break;
                struct vmm_nic *n = &net->nics[net->n++];
                const char *name = json_string_value(json_object_get(o, "name"));
                const char *tap = json_string_value(json_object_get(o, "tap"));
                snprintf(n->name, sizeof(n->name), "%s", name ? name : "");
                snprintf(n->tap, sizeof(n->tap), "%s", tap ? tap : "");
                n->tap_moved = json_is_true(json_object_get(o, "tap_moved"));
                n->qdisc_added = json_is_true(json_object_get(o, "qdisc_added"));
                n->filter_added = json_is_true(json_object_get(o, "filter_added"));
        }
        return 0;
}

void vmm_net_done(struct vmm_net *net)
{
        free(net->netns);
        *net = (struct vmm_net){0};
}

static void delete_link(struct nl_sock *sk, const char *name);

static int prepare(struct nl_sock *pod, const char *sandbox_id, const char *run_dir,
                   struct vmm_net *net, struct coco_error **err)
{
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
        int r;

        if ((r = rtnl_link_alloc_cache(pod, AF_UNSPEC, &links)) < 0)
                return nl_fail(err, r, "listing the links of", net->netns);
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *l = (struct rtnl_link *)o;
                if (!is_pod_interface(l))
                        continue;
                if (net->n == VMM_NIC_MAX)
                        return coco_error_set(err, E2BIG,
                                              "the pod's network namespace %s has more than %d "
                                              "interfaces; a pod VM takes at most %d",
                                              net->netns, VMM_NIC_MAX, VMM_NIC_MAX);
                struct vmm_nic *n = &net->nics[net->n];
                snprintf(n->name, sizeof(n->name), "%s", rtnl_link_get_name(l));
                nl_addr2str(rtnl_link_get_addr(l), n->mac, sizeof(n->mac));
                n->mtu = rtnl_link_get_mtu(l);
                tap_name(n->tap, sandbox_id, net->n);
                if ((r = tap_create(n->tap, err)) < 0)
                        return r;
                net->n++;
                log_debug("pod interface %s (%s, mtu %u) -> tap %s", n->name, n->mac, n->mtu,
                          n->tap);
        }
        return state_save(net, run_dir, err);
}

int vmm_net_prepare(const char *netns, const char *sandbox_id, const char *run_dir,
                    struct vmm_net *net, struct coco_error **err)
{
        _cleanup_(nl_socket_freep) struct nl_sock *pod = NULL, *here = NULL;
        int r;

        *net = (struct vmm_net){.netns = xstrdup(netns)};
        if ((r = nl_open(netns, &pod, err)) < 0 || (r = nl_open(NULL, &here, err)) < 0)
                return r;
        if ((r = prepare(pod, sandbox_id, run_dir, net, err)) < 0) {
                for (size_t i = 0; i < net->n; i++) /* all still here: undo them now */
                        delete_link(here, net->nics[i].tap);
                net->n = 0;
        }
        return r;
}

static int ingress_qdisc(struct nl_sock *sk, int ifindex, bool add, const char *dev,
                         struct coco_error **err)
{
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = rtnl_qdisc_alloc();
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
        rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
        rtnl_tc_set_kind(TC_CAST(q), "ingress");
        int r = add ? rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL) : rtnl_qdisc_delete(sk, q);
        if (r < 0 && r != -NLE_EXIST && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
                return nl_fail(err, r,
                               add ? "adding an ingress qdisc to"
                                   : "removing the "
                                     "ingress qdisc of",
                               dev);
        return r == -NLE_EXIST ? 0 : 1; /* 1: this call changed it */
}

static struct rtnl_cls *our_filter(int ifindex)
{
        struct rtnl_cls *c = rtnl_cls_alloc();
        rtnl_tc_set_ifindex(TC_CAST(c), ifindex);
        rtnl_tc_set_parent(TC_CAST(c), INGRESS_HANDLE);
        rtnl_tc_set_kind(TC_CAST(c), "u32");
        rtnl_cls_set_prio(c, VMM_TC_PRIO);
        rtnl_cls_set_protocol(c, ETH_P_ALL);
        return c;
}

/* Everything that enters from_ifindex leaves through to_ifindex. */
static int redirect(struct nl_sock *sk, int from_ifindex, int to_ifindex, const char *dev,
                    struct coco_error **err)
{
        _cleanup_(rtnl_cls_putp) struct rtnl_cls *c = our_filter(from_ifindex);
        struct rtnl_act *a = rtnl_act_alloc();
        int r;

        rtnl_u32_add_key_uint32(c, 0, 0, 0, 0); /* match every packet */
        rtnl_u32_set_cls_terminal(c);
        rtnl_tc_set_kind(TC_CAST(a), "mirred");
        rtnl_mirred_set_action(a, TCA_EGRESS_REDIR);
        rtnl_mirred_set_policy(a, TC_ACT_STOLEN);
        rtnl_mirred_set_ifindex(a, (uint32_t)to_ifindex);
        r = rtnl_u32_add_action(c, a);
        rtnl_act_put(a); /* the filter holds its own reference */
        if (r >= 0)
                r = rtnl_cls_add(sk, c, NLM_F_CREATE | NLM_F_EXCL);
        return r < 0 ? nl_fail(err, r, "adding the redirect filter to", dev) : 0;
}

static int link_index(struct nl_sock *sk, const char *name, int *ret)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        int r = rtnl_link_get_kernel(sk, 0, name, &l);
        if (r < 0)
                return r;
        *ret = rtnl_link_get_ifindex(l);
        return 0;
}

static int connect_nic(struct nl_sock *here, struct nl_sock *pod, int ns_fd, struct vmm_nic *n,
                       const char *run_dir, struct vmm_net *net, struct coco_error **err)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *tap = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *move = rtnl_link_alloc();
        _cleanup_(rtnl_link_putp) struct rtnl_link *up = rtnl_link_alloc();
        int r, tap_index, pod_index;

        if ((r = rtnl_link_get_kernel(here, 0, n->tap, &tap)) < 0)
                return nl_fail(err, r, "finding tap", n->tap);
        rtnl_link_set_ns_fd(move, ns_fd);
        if ((r = rtnl_link_change(here, tap, move, 0)) < 0)
                return nl_fail(err, r, "moving into the pod's namespace tap", n->tap);
        n->tap_moved = true;
        if ((r = state_save(net, run_dir, err)) < 0)
                return r;

        if ((r = link_index(pod, n->tap, &tap_index)) < 0 ||
            (r = link_index(pod, n->name, &pod_index)) < 0)
                return nl_fail(err, r, "finding in the pod's namespace", n->name);
        rtnl_link_set_flags(up, IFF_UP);
        rtnl_link_set_mtu(up, n->mtu);
        rtnl_link_put(tap);
        tap = NULL;
        if ((r = rtnl_link_get_kernel(pod, tap_index, NULL, &tap)) < 0 ||
            (r = rtnl_link_change(pod, tap, up, 0)) < 0)
                return nl_fail(err, r, "bringing up tap", n->tap);

        if ((r = ingress_qdisc(pod, pod_index, true, n->name, err)) < 0)
                return r;
        n->qdisc_added = r == 1;
        n->filter_added = true; /* recorded first: a half-made filter is still removed */
        if ((r = state_save(net, run_dir, err)) < 0 ||
            (r = ingress_qdisc(pod, tap_index, true, n->tap, err)) < 0 ||
            (r = redirect(pod, pod_index, tap_index, n->name, err)) < 0 ||
            (r = redirect(pod, tap_index, pod_index, n->tap, err)) < 0)
                return r;
        log_debug("%s <-> %s joined in %s", n->name, n->tap, net->netns);
        return 0;
}

int vmm_net_connect(struct vmm_net *net, const char *run_dir, struct coco_error **err)
{
        _cleanup_(nl_socket_freep) struct nl_sock *here = NULL, *pod = NULL;
        _cleanup_close_ int ns_fd = -EBADF;
        int r;

        if (net->n == 0)
                return 0;
        ns_fd = open(net->netns, O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0)
                return coco_error_set(err, errno, "the pod's network namespace %s: %s", net->netns,
                                      strerror(errno));
        if ((r = nl_open(NULL, &here, err)) < 0 || (r = nl_open(net->netns, &pod, err)) < 0)
                return r;
        for (size_t i = 0; i < net->n; i++)
                if ((r = connect_nic(here, pod, ns_fd, &net->nics[i], run_dir, net, err)) < 0)
                        return r;
        return 0; /* each step saved its state as it went */
}

static void delete_link(struct nl_sock *sk, const char *name)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        if (rtnl_link_get_kernel(sk, 0, name, &l) < 0)
                return;
        const char *kind = rtnl_link_get_type(l);
        if (kind && strcmp(kind, "tun") == 0) /* only ever a tap we made */
                (void)rtnl_link_delete(sk, l);
}

int vmm_net_teardown(const char *run_dir, struct coco_error **err)
{
        struct vmm_net net = {0};
        _cleanup_(nl_socket_freep) struct nl_sock *here = NULL, *pod = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!run_dir)
                return 0;
        if ((r = state_load(run_dir, &net, err)) < 0)
                return r;
        if (!net.netns) {
                vmm_net_done(&net);
                return 0; /* no network was set up */
        }
        if (nl_open(net.netns, &pod, NULL) < 0)
                pod = NULL; /* the namespace is gone, and our taps and filters with it */
        if ((r = nl_open(NULL, &here, err)) < 0)
                goto out;
        for (size_t i = 0; i < net.n; i++) {
                struct vmm_nic *n = &net.nics[i];
                int ifindex;
                if (!n->tap_moved)
                        delete_link(here, n->tap);
                if (!pod)
                        continue;
                if (n->tap_moved)
                        delete_link(pod, n->tap); /* its qdisc and filter go with it */
                if (link_index(pod, n->name, &ifindex) < 0)
                        continue;
                if (n->filter_added) {
                        _cleanup_(rtnl_cls_putp) struct rtnl_cls *c = our_filter(ifindex);
                        (void)rtnl_cls_delete(pod, c, 0);
                }
                if (n->qdisc_added && (r = ingress_qdisc(pod, ifindex, false, n->name, err)) < 0)
                        goto out;
        }
        path = xasprintf("%s/" VMM_NET_STATE, run_dir);
        (void)unlink(path);
        r = 0;
out:
        vmm_net_done(&net);
        return r;
}

/* "10.0.0.2", without the prefix nl_addr2str appends. */
static json_t *addr_string(struct nl_addr *a)
{
        char buf[INET6_ADDRSTRLEN + 8];
        nl_addr2str(a, buf, sizeof(buf));
        buf[strcspn(buf, "/")] = 0;
        return json_string(buf);
}

/* A Kata IPAddress: family 0 (v4) or 1 (v6), address, prefix length as "mask". */
static json_t *ip_json(struct nl_addr *a, int prefix)
{
        bool v6 = nl_addr_get_family(a) == AF_INET6;
        return json_pack("{s:i, s:o, s:o}", "family", v6 ? 1 : 0, "address", addr_string(a), "mask",
                         json_sprintf("%d", prefix >= 0 ? prefix
                                            : v6        ? 128
                                                        : 32));
}

static bool link_local6(struct nl_addr *a)
{
        const uint8_t *b = nl_addr_get_binary_addr(a);
        return nl_addr_get_family(a) == AF_INET6 && b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
}

static json_t *describe_interfaces(struct nl_cache *links, struct nl_cache *addrs)
{
        json_t *out = json_array();
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *l = (struct rtnl_link *)o;
                char mac[32];
                if (!is_pod_interface(l))
                        continue;
                json_t *ips = json_array();
                for (struct nl_object *ao = nl_cache_get_first(addrs); ao;
                     ao = nl_cache_get_next(ao)) {
                        struct rtnl_addr *a = (struct rtnl_addr *)ao;
                        struct nl_addr *local = rtnl_addr_get_local(a);
                        if (rtnl_addr_get_ifindex(a) != rtnl_link_get_ifindex(l) || !local ||
                            link_local6(local))
                                continue;
                        json_array_append_new(ips, ip_json(local, rtnl_addr_get_prefixlen(a)));
                }
                nl_addr2str(rtnl_link_get_addr(l), mac, sizeof(mac));
                json_array_append_new(out, json_pack("{s:s, s:s, s:i, s:s, s:o}", "name",
                                                     rtnl_link_get_name(l), "device",
                                                     rtnl_link_get_name(l), "mtu",
                                                     (json_int_t)rtnl_link_get_mtu(l), "hwAddr",
                                                     mac, "IPAddresses", ips));
        }
        return out;
}

static json_t *describe_routes(struct nl_cache *links, struct nl_cache *routes)
{
        json_t *out = json_array();
        for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *rt = (struct rtnl_route *)o;
                if (rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
                    rtnl_route_get_type(rt) != RTN_UNICAST || rtnl_route_get_nnexthops(rt) != 1)
                        continue;
                struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
                _cleanup_(rtnl_link_putp) struct rtnl_link *l =
                        rtnl_link_get(links, rtnl_route_nh_get_ifindex(nh));
                struct nl_addr *dst = rtnl_route_get_dst(rt), *gw = rtnl_route_nh_get_gateway(nh);
                struct nl_addr *src = rtnl_route_get_pref_src(rt);
                if (!l || !is_pod_interface(l) || (dst && link_local6(dst)))
                        continue;
                char d[INET6_ADDRSTRLEN + 8] = "";
                if (dst && nl_addr_get_prefixlen(dst) > 0)
                        nl_addr2str(dst, d, sizeof(d));
                json_t *j = json_pack("{s:s, s:s, s:i, s:i}", "dest", d, "device",
                                      rtnl_link_get_name(l), "scope",
                                      (json_int_t)rtnl_route_get_scope(rt), "family",
                                      rtnl_route_get_family(rt) == AF_INET6 ? 1 : 0);
                json_object_set_new(j, "gateway", gw ? addr_string(gw) : json_string(""));
                json_object_set_new(j, "source", src ? addr_string(src) : json_string(""));
                json_array_append_new(out, j);
        }
        return out;
}

static json_t *describe_neighbours(struct nl_cache *links, struct nl_cache *neighs)
{
        json_t *out = json_array();
        for (struct nl_object *o = nl_cache_get_first(neighs); o; o = nl_cache_get_next(o)) {
                struct rtnl_neigh *n = (struct rtnl_neigh *)o;
                _cleanup_(rtnl_link_putp) struct rtnl_link *l =
                        rtnl_link_get(links, rtnl_neigh_get_ifindex(n));
                struct nl_addr *to = rtnl_neigh_get_dst(n), *ll = rtnl_neigh_get_lladdr(n);
                char mac[32];
                if (!l || !is_pod_interface(l) || !to || !ll ||
                    !(rtnl_neigh_get_state(n) & NUD_PERMANENT))
                        continue;
                nl_addr2str(ll, mac, sizeof(mac));
                json_array_append_new(
                        out, json_pack("{s:o, s:s, s:s, s:i, s:i}", "toIPAddress", ip_json(to, -1),
                                       "device", rtnl_link_get_name(l), "lladdr", mac, "state",
                                       rtnl_neigh_get_state(n), "flags", rtnl_neigh_get_flags(n)));
        }
        return out;
}

int vmm_net_describe(const char *netns, json_t **ret, struct coco_error **err)
{
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL,
                                                  *neighs = NULL;
        int r;

        if ((r = nl_open(netns, &sk, err)) < 0)
                return r;
        if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0 ||
            (r = rtnl_addr_alloc_cache(sk, &addrs)) < 0 ||
            (r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes)) < 0 ||
            (r = rtnl_neigh_alloc_cache(sk, &neighs)) < 0)
                return nl_fail(err, r, "reading the network of", netns);
        *ret = json_pack("{s:o, s:o, s:o}", "interfaces", describe_interfaces(links, addrs),
                         "routes", describe_routes(links, routes), "neighbors",
                         describe_neighbours(links, neighs));
        return 0;
}
