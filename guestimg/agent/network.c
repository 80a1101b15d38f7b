/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest networking through rtnetlink (libnl-route): UpdateInterface finds a
 * link by its MAC address, names it, sets its MTU, replaces its addresses and
 * brings it up; UpdateRoutes replaces the routes of the interfaces it names;
 * ListInterfaces reports links with their MAC, MTU and addresses.
 */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "agent.h"
#include "log.h"
#include "network.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_neigh *, rtnl_neigh_put)

static int nl_error(struct coco_error **err, int nlerr, const char *what)
{
        return coco_error_set(err, EIO, "%s: %s", what, nl_geterror(nlerr));
}

static int open_route(struct nl_sock **ret, struct coco_error **err)
{
        struct nl_sock *sk = nl_socket_alloc();
        if (!sk)
                return coco_error_set(err, ENOMEM, "netlink: cannot allocate a socket");
        int r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_error(err, r, "netlink: connecting");
        }
        *ret = sk;
        return 0;
}

int net_bring_up_loopback(void)
{
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
        if (open_route(&sk, NULL) < 0 || rtnl_link_alloc_cache(sk, AF_UNSPEC, &links) < 0)
                return -EIO;
        _cleanup_(rtnl_link_putp) struct rtnl_link *lo = rtnl_link_get_by_name(links, "lo");
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();
        if (!lo || !change)
                return -ENODEV;
        rtnl_link_set_flags(change, IFF_UP);
        return rtnl_link_change(sk, lo, change, 0) < 0 ? -EIO : 0;
}

static struct rtnl_link *link_by_mac(struct nl_cache *links, const char *mac)
{
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *l = (struct rtnl_link *)o;
                struct nl_addr *a = rtnl_link_get_addr(l);
                char buf[64];
                if (a && strcasecmp(nl_addr2str(a, buf, sizeof(buf)), mac) == 0) {
                        nl_object_get(o);
                        return l;
                }
        }
        return NULL;
}

/* Remove every address of ifindex in the family of each new address. */
static void flush_addresses(struct nl_sock *sk, int ifindex)
{
        _cleanup_(nl_cache_freep) struct nl_cache *addrs = NULL;
        if (rtnl_addr_alloc_cache(sk, &addrs) < 0)
                return;
        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *)o;
                if (rtnl_addr_get_ifindex(a) == ifindex)
                        (void)rtnl_addr_delete(sk, a, 0);
        }
}

static int add_address(struct nl_sock *sk, int ifindex, const Types__IPAddress *ip,
                       struct coco_error **err)
{
        int family = ip->family == TYPES__IPFAMILY__v6 ? AF_INET6 : AF_INET;
        _cleanup_free_ char *cidr = xasprintf("%s/%s", ip->address, *ip->mask ? ip->mask : "32");
        _cleanup_(nl_addr_putp) struct nl_addr *local = NULL;
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *a = rtnl_addr_alloc();
        int r = nl_addr_parse(cidr, family, &local);
        if (r < 0)
                return coco_error_set(err, EINVAL, "address \"%s\" is not valid: %s", cidr,
                                      nl_geterror(r));
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_local(a, local);
        r = rtnl_addr_add(sk, a, NLM_F_REPLACE);
        if (r < 0)
                return coco_error_set(err, EIO, "adding address %s: %s", cidr, nl_geterror(r));
        return 0;
}

int net_update_interface(const Types__Interface *want, struct coco_error **err)
{
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
        int r;

        if (!want || !want->hwaddr || !*want->hwaddr)
                return coco_error_set(err, EINVAL, "UpdateInterface needs the interface's hwAddr");
        if ((r = open_route(&sk, err)) < 0)
                return r;
        if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0)
                return nl_error(err, r, "listing links");
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = link_by_mac(links, want->hwaddr);
        if (!link)
                return coco_error_set(err, ENOENT, "no interface with MAC address %s in the guest",
                                      want->hwaddr);
        int ifindex = rtnl_link_get_ifindex(link);

        /* name and MTU need the link down; then addresses, then up */
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();
        rtnl_link_unset_flags(change, IFF_UP);
        if (want->name && *want->name && strcmp(want->name, rtnl_link_get_name(link)) != 0)
                rtnl_link_set_name(change, want->name);
        if (want->mtu)
                rtnl_link_set_mtu(change, (unsigned)want->mtu);
        if ((r = rtnl_link_change(sk, link, change, 0)) < 0)
                return nl_error(err, r, "configuring the interface");
        flush_addresses(sk, ifindex);
        for (size_t i = 0; i < want->n_ipaddresses; i++)
                if ((r = add_address(sk, ifindex, want->ipaddresses[i], err)) < 0)
                        return r;
        _cleanup_(rtnl_link_putp) struct rtnl_link *up = rtnl_link_alloc();
        rtnl_link_set_flags(up, IFF_UP);
        if ((r = rtnl_link_change(sk, link, up, 0)) < 0)
                return nl_error(err, r, "bringing the interface up");
        log_info("interface %s (%s) configured with %zu addresses", want->name, want->hwaddr,
                 want->n_ipaddresses);
        return 0;
}

static int add_route(struct nl_sock *sk, struct nl_cache *links, const Types__Route *rt,
                     struct coco_error **err)
{
        int family = rt->family == TYPES__IPFAMILY__v6 ? AF_INET6 : AF_INET;
        _cleanup_(rtnl_route_putp) struct rtnl_route *route = rtnl_route_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *dst = NULL, *gw = NULL, *src = NULL;
        int r, ifindex = rtnl_link_name2i(links, rt->device);

        if (ifindex <= 0)
                return coco_error_set(err, ENOENT, "route to %s: no interface \"%s\"", rt->dest,
                                      rt->device);
        const char *d = !*rt->dest || strcmp(rt->dest, "default") == 0
                                ? (family == AF_INET ? "0.0.0.0/0" : "::/0")
                                : rt->dest;
        if ((r = nl_addr_parse(d, family, &dst)) < 0)
                return coco_error_set(err, EINVAL, "route destination \"%s\": %s", rt->dest,
                                      nl_geterror(r));
        rtnl_route_set_family(route, (uint8_t)family);
        rtnl_route_set_dst(route, dst);
        rtnl_route_set_scope(route, (uint8_t)rt->scope);
        if (*rt->source) {
                if ((r = nl_addr_parse(rt->source, family, &src)) < 0)
                        return coco_error_set(err, EINVAL, "route source \"%s\": %s", rt->source,
                                              nl_geterror(r));
                rtnl_route_set_pref_src(route, src);
        }
        struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
        rtnl_route_nh_set_ifindex(nh, ifindex);
        if (*rt->gateway) {
                if ((r = nl_addr_parse(rt->gateway, family, &gw)) < 0) {
                        rtnl_route_nh_free(nh);
                        return coco_error_set(err, EINVAL, "route gateway \"%s\": %s", rt->gateway,
                                              nl_geterror(r));
                }
                rtnl_route_nh_set_gateway(nh, gw);
        }
        rtnl_route_add_nexthop(route, nh); /* the route owns it now */
        if ((r = rtnl_route_add(sk, route, NLM_F_REPLACE | NLM_F_CREATE)) < 0)
                return coco_error_set(err, EIO, "adding route %s via %s dev %s: %s", d,
                                      *rt->gateway ? rt->gateway : "-", rt->device, nl_geterror(r));
        return 0;
}

int net_update_routes(const Grpc__Routes *routes, struct coco_error **err)
{
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
        int r;

        if ((r = open_route(&sk, err)) < 0)
                return r;
        if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0)
                return nl_error(err, r, "listing links");
        /* routes with a gateway need their link routes first: add those first */
        for (int pass = 0; routes && pass < 2; pass++)
                for (size_t i = 0; i < routes->n_routes; i++) {
                        const Types__Route *rt = routes->routes[i];
                        if ((*rt->gateway != 0) != (pass == 1))
                                continue;
                        if ((r = add_route(sk, links, rt, err)) < 0)
                                return r;
                }
        return 0;
}

static int add_neighbour(struct nl_sock *sk, struct nl_cache *links, const Types__ARPNeighbor *n,
                         struct coco_error **err)
{
        _cleanup_(rtnl_neigh_putp) struct rtnl_neigh *neigh = rtnl_neigh_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *to = NULL, *ll = NULL;
        int r, ifindex = rtnl_link_name2i(links, n->device);

        if (!n->toipaddress || !*n->toipaddress->address)
                return coco_error_set(err, EINVAL, "an ARP neighbour on %s has no IP address",
                                      n->device);
        if (ifindex <= 0)
                return coco_error_set(err, ENOENT, "neighbour %s: no interface \"%s\"",
                                      n->toipaddress->address, n->device);
        int family = n->toipaddress->family == TYPES__IPFAMILY__v6 ? AF_INET6 : AF_INET;
        if ((r = nl_addr_parse(n->toipaddress->address, family, &to)) < 0 ||
            (r = nl_addr_parse(n->lladdr, AF_LLC, &ll)) < 0)
                return coco_error_set(err, EINVAL, "neighbour %s at \"%s\": %s",
                                      n->toipaddress->address, n->lladdr, nl_geterror(r));
        rtnl_neigh_set_ifindex(neigh, ifindex);
        rtnl_neigh_set_dst(neigh, to);
        rtnl_neigh_set_lladdr(neigh, ll);
        rtnl_neigh_set_state(neigh, n->state ? n->state : NUD_PERMANENT);
        if (n->flags)
                rtnl_neigh_set_flags(neigh, (unsigned)n->flags);
        if ((r = rtnl_neigh_add(sk, neigh, NLM_F_CREATE | NLM_F_REPLACE)) < 0)
                return coco_error_set(err, EIO, "adding neighbour %s on %s: %s",
                                      n->toipaddress->address, n->device, nl_geterror(r));
        return 0;
}

int net_add_neighbours(const Grpc__ARPNeighbors *neighs, struct coco_error **err)
{
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
        int r;

        if (!neighs || neighs->n_arpneighbors == 0)
                return 0;
        if ((r = open_route(&sk, err)) < 0)
                return r;
        if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0)
                return nl_error(err, r, "listing links");
        for (size_t i = 0; i < neighs->n_arpneighbors; i++)
                if ((r = add_neighbour(sk, links, neighs->arpneighbors[i], err)) < 0)
                        return r;
        return 0;
}

static void free_interfaces(Grpc__Interfaces *ifs)
{
        for (size_t i = 0; i < ifs->n_interfaces; i++) {
                Types__Interface *it = ifs->interfaces[i];
                for (size_t j = 0; j < it->n_ipaddresses; j++) {
                        free(it->ipaddresses[j]->address);
                        free(it->ipaddresses[j]->mask);
                        free(it->ipaddresses[j]);
                }
                free(it->ipaddresses);
                free(it->name);
                free(it->device);
                free(it->hwaddr);
                free(it);
        }
        free(ifs->interfaces);
}

int net_list_interfaces(struct ttrpc_call *call, struct coco_error **err)
{
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL, *addrs = NULL;
        Grpc__Interfaces resp = GRPC__INTERFACES__INIT;
        int r;

        if ((r = open_route(&sk, err)) < 0)
                return r;
        if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0 ||
            (r = rtnl_addr_alloc_cache(sk, &addrs)) < 0)
                return nl_error(err, r, "listing links and addresses");
        resp.interfaces = xcalloc((size_t)nl_cache_nitems(links) + 1, sizeof(Types__Interface *));
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *l = (struct rtnl_link *)o;
                Types__Interface *it = xcalloc(1, sizeof(*it));
                char buf[128];
                types__interface__init(it);
                it->name = xstrdup(rtnl_link_get_name(l));
                it->device = xstrdup(it->name);
                it->mtu = rtnl_link_get_mtu(l);
                struct nl_addr *mac = rtnl_link_get_addr(l);
                it->hwaddr = xstrdup(mac ? nl_addr2str(mac, buf, sizeof(buf)) : "");
                it->raw_flags = rtnl_link_get_flags(l);
                it->ipaddresses = xcalloc((size_t)nl_cache_nitems(addrs) + 1, sizeof(void *));
                for (struct nl_object *ao = nl_cache_get_first(addrs); ao;
                     ao = nl_cache_get_next(ao)) {
                        struct rtnl_addr *a = (struct rtnl_addr *)ao;
                        if (rtnl_addr_get_ifindex(a) != rtnl_link_get_ifindex(l))
                                continue;
                        Types__IPAddress *ip = xcalloc(1, sizeof(*ip));
                        types__ipaddress__init(ip);
                        struct nl_addr *local = rtnl_addr_get_local(a);
                        nl_addr2str(local, buf, sizeof(buf));
                        buf[strcspn(buf, "/")] = 0;
                        ip->address = xstrdup(buf);
                        ip->mask = xasprintf("%d", rtnl_addr_get_prefixlen(a));
                        ip->family = rtnl_addr_get_family(a) == AF_INET6 ? TYPES__IPFAMILY__v6
                                                                         : TYPES__IPFAMILY__v4;
                        it->ipaddresses[it->n_ipaddresses++] = ip;
                }
                resp.interfaces[resp.n_interfaces++] = it;
        }
        ttrpc_call_reply(call, &resp.base);
        free_interfaces(&resp);
        return 0;
}
