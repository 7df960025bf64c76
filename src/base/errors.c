#include "wsclean/errors.h"

const char *ws_strerror(int err) {
  switch (err) {
  case WS_OK:
    return "success";
#define WS__ERR_STR(name, num, msg)                                                                \
  case num:                                                                                        \
    return msg;
    WS_ERROR_TABLE(WS__ERR_STR)
#undef WS__ERR_STR
  default:
    return "unknown error";
  }
}

const char *ws_errname(int err) {
  switch (err) {
  case WS_OK:
    return "WS_OK";
#define WS__ERR_NAME(name, num, msg)                                                               \
  case num:                                                                                        \
    return "WS_ERR_" #name;
    WS_ERROR_TABLE(WS__ERR_NAME)
#undef WS__ERR_NAME
  default:
    return "WS_ERR_UNKNOWN";
  }
}
