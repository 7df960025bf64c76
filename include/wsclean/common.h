/* wsclean — common definitions shared by every public header. */
#ifndef WSCLEAN_COMMON_H
#define WSCLEAN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(WS_BUILDING) && defined(__GNUC__)
#define WS_API __attribute__((visibility("default")))
#else
#define WS_API
#endif

#ifdef __cplusplus
#define WS_BEGIN_DECLS extern "C" {
#define WS_END_DECLS }
#else
#define WS_BEGIN_DECLS
#define WS_END_DECLS
#endif

#endif
