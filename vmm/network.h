/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod's network namespace carried into the VM (what kata calls tcfilter).
 *
 * libvirtd starts QEMU in the host's network namespace and opens a
 * pre-created tap there by name, while CNI put the pod's interface in the
 * pod's namespace. So, for each pod interface:
 *   1. prepare: a persistent tap is made in our namespace (named from the
 *      sandbox id), and the domain gets <interface type='ethernet'> on it
 *      with the pod interface's MAC address;
 *   2. connect: once QEMU holds the tap, it is moved into the pod's
 *      namespace (an attached tap keeps working across the move) and joined
 *      to the pod interface by an ingress qdisc and a u32 match-all filter
 *      with a mirred egress redirect on each side;
 *   3. teardown: the tap goes, and with it its qdisc and filter; the pod
 *      interface loses our filter, and its ingress qdisc if we added it.
 * Everything is done over rtnetlink (libnl-route) and the tun ioctls; no
 * `ip` or `tc` is run. What was made is recorded in run_dir/network.json,
 * so a destroy after a crash removes exactly that.
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"

#define VMM_NET_STATE "network.json"
#define VMM_NIC_MAX   8
#define VMM_TC_PRIO   0xc0c0 /* our filters' priority, so teardown finds exactly them */

struct vmm_nic {
        char name[IFNAMSIZ]; /* the pod interface, as CNI named it */
        char tap[IFNAMSIZ];
        char mac[18]; /* the pod interface's, given to the guest NIC */
        unsigned mtu;
        bool tap_moved;    /* the tap is in the pod's namespace */
        bool qdisc_added;  /* we added the pod interface's ingress qdisc */
        bool filter_added; /* our filter is on the pod interface */
};

struct vmm_net {
        char *netns; /* path of the pod's network namespace */
        size_t n;
        struct vmm_nic nics[VMM_NIC_MAX];
};

/* Find the pod's interfaces in netns and make one tap each here; records the state. */
int vmm_net_prepare(const char *netns, const char *sandbox_id, const char *run_dir,
                    struct vmm_net *ret, struct coco_error **err);
/* After QEMU has opened the taps: move them into the pod's namespace and join them. */
int vmm_net_connect(struct vmm_net *net, const char *run_dir, struct coco_error **err);
/* Undo what run_dir's state records; a missing state or namespace is nothing to do. */
int vmm_net_teardown(const char *run_dir, struct coco_error **err);
/*
 * The pod's network as the agent needs it: interfaces (name, hwAddr, mtu,
 * addresses), routes and permanent neighbours, in the Kata types' field names.
 */
int vmm_net_describe(const char *netns, json_t **ret, struct coco_error **err);
void vmm_net_done(struct vmm_net *net);
