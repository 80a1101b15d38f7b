/* SPDX-License-Identifier: Apache-2.0 */
/* Guest networking (rtnetlink through libnl-route). */
#pragma once

#include "error.h"
#include "kata/agent.pb-c.h"
#include "ttrpc.h"

int net_bring_up_loopback(void);
/* Configure the link with want->hwaddr: name, MTU, addresses (replaced), up. */
int net_update_interface(const Types__Interface *want, struct coco_error **err);
/* Add or replace the given routes (link routes before gateway routes). */
int net_update_routes(const Grpc__Routes *routes, struct coco_error **err);
/* Add or replace neighbour entries (static ARP/NDP entries CNI made). */
int net_add_neighbours(const Grpc__ARPNeighbors *neighs, struct coco_error **err);
/* Answer a ListInterfaces call. */
int net_list_interfaces(struct ttrpc_call *call, struct coco_error **err);
