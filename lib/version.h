/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* COCO_VERSION and COCO_REVISION come from the build (VERSION file, git). */
#ifndef COCO_VERSION
#define COCO_VERSION "unknown"
#endif
#ifndef COCO_REVISION
#define COCO_REVISION "unknown"
#endif
