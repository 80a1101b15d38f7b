/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod's network, as coco-vmm read it from the pod's namespace, handed to
 * the agent: UpdateInterface for each interface (found in the guest by the
 * MAC address its virtio NIC was given), then UpdateRoutes with every route,
 * then AddARPNeighbors with the permanent neighbours. The shim does no
 * netlink itself; the JSON uses the Kata types' field names.
 */
#include <string.h>

#include "log.h"
#include "shim.h"
#include "util.h"

#define NET_TIMEOUT_NS (10 * NSEC_PER_SEC)

static char *str(json_t *o, const char *key)
{
        const char *v = json_string_value(json_object_get(o, key));
        return (char *)(v ? v : "");
}

static int num(json_t *o, const char *key)
{
        return (int)json_integer_value(json_object_get(o, key));
}

/* coco-vmm writes family 0 (IPv4) or 1 (IPv6), as Kata's IPFamily. */
static Types__IPFamily family(json_t *o)
{
        return num(o, "family") == 1 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
}

static void ip_from(json_t *j, Types__IPAddress *ip)
{
        types__ipaddress__init(ip);
        ip->family = family(j);
        ip->address = str(j, "address");
        ip->mask = str(j, "mask");
}

static int update_interface(struct shim *s, json_t *j, struct coco_error **err)
{
        json_t *addrs = json_object_get(j, "IPAddresses"), *a;
        size_t n = json_array_size(addrs), i;
        _cleanup_free_ Types__IPAddress *ips = xcalloc(n + 1, sizeof(*ips));
        _cleanup_free_ Types__IPAddress **ptrs = xcalloc(n + 1, sizeof(*ptrs));
        Types__Interface it = TYPES__INTERFACE__INIT;
        Grpc__UpdateInterfaceRequest req = GRPC__UPDATE_INTERFACE_REQUEST__INIT;

        json_array_foreach(addrs, i, a)
        {
                ip_from(a, &ips[i]);
                ptrs[i] = &ips[i];
        }
        it.name = str(j, "name");
        it.device = str(j, "device");
        it.hwaddr = str(j, "hwAddr");
        it.mtu = (uint64_t)num(j, "mtu");
        it.n_ipaddresses = n;
        it.ipaddresses = ptrs;
        req.interface = &it;
        int r = agent_call(s, "UpdateInterface", &req.base, &types__interface__descriptor, NULL,
                           NET_TIMEOUT_NS, err);
        return r < 0 ? coco_error_wrap(err, r, "pod interface %s (%s)", it.name, it.hwaddr) : 0;
}

static int update_routes(struct shim *s, json_t *routes, struct coco_error **err)
{
        size_t n = json_array_size(routes), i;
        json_t *j;
        _cleanup_free_ Types__Route *rts = xcalloc(n + 1, sizeof(*rts));
        _cleanup_free_ Types__Route **ptrs = xcalloc(n + 1, sizeof(*ptrs));
        Grpc__Routes all = GRPC__ROUTES__INIT;
        Grpc__UpdateRoutesRequest req = GRPC__UPDATE_ROUTES_REQUEST__INIT;

        json_array_foreach(routes, i, j)
        {
                types__route__init(&rts[i]);
                rts[i].dest = str(j, "dest");
                rts[i].gateway = str(j, "gateway");
                rts[i].device = str(j, "device");
                rts[i].source = str(j, "source");
                rts[i].scope = (uint32_t)num(j, "scope");
                rts[i].family = family(j);
                ptrs[i] = &rts[i];
        }
        all.n_routes = n;
        all.routes = ptrs;
        req.routes = &all;
        return agent_call(s, "UpdateRoutes", &req.base, &grpc__routes__descriptor, NULL,
                          NET_TIMEOUT_NS, err);
}

static int add_neighbours(struct shim *s, json_t *neighs, struct coco_error **err)
{
        size_t n = json_array_size(neighs), i;
        json_t *j;
        _cleanup_free_ Types__ARPNeighbor *ns = xcalloc(n + 1, sizeof(*ns));
        _cleanup_free_ Types__ARPNeighbor **ptrs = xcalloc(n + 1, sizeof(*ptrs));
        _cleanup_free_ Types__IPAddress *ips = xcalloc(n + 1, sizeof(*ips));
        Grpc__ARPNeighbors all = GRPC__ARPNEIGHBORS__INIT;
        Grpc__AddARPNeighborsRequest req = GRPC__ADD_ARPNEIGHBORS_REQUEST__INIT;

        json_array_foreach(neighs, i, j)
        {
                types__arpneighbor__init(&ns[i]);
                ip_from(json_object_get(j, "toIPAddress"), &ips[i]);
                ns[i].toipaddress = &ips[i];
                ns[i].device = str(j, "device");
                ns[i].lladdr = str(j, "lladdr");
                ns[i].state = num(j, "state");
                ns[i].flags = num(j, "flags");
                ptrs[i] = &ns[i];
        }
        all.n_arpneighbors = n;
        all.arpneighbors = ptrs;
        req.neighbors = &all;
        return agent_call(s, "AddARPNeighbors", &req.base, NULL, NULL, NET_TIMEOUT_NS, err);
}

int network_apply(struct shim *s, json_t *network, struct coco_error **err)
{
        json_t *ifs = json_object_get(network, "interfaces"), *j;
        json_t *routes = json_object_get(network, "routes");
        json_t *neighs = json_object_get(network, "neighbors");
        size_t i;
        int r;

        json_array_foreach(ifs, i, j)
        {
                if ((r = update_interface(s, j, err)) < 0)
                        return r;
        }
        if (json_array_size(routes) && (r = update_routes(s, routes, err)) < 0)
                return r;
        if (json_array_size(neighs) && (r = add_neighbours(s, neighs, err)) < 0)
                return r;
        if (json_array_size(ifs))
                log_info("pod network: %zu interfaces, %zu routes, %zu neighbours",
                         json_array_size(ifs), json_array_size(routes), json_array_size(neighs));
        return 0;
}
