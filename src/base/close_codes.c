/* TEMPORARY STUB (branch conn): only ws_close_code_on_wire(), which the protocol core needs.
 * The registry helper's full close_codes.c replaces this file when the branches merge. */
#include "wsclean/close_codes.h"

bool ws_close_code_on_wire(uint16_t code) {
  /* RFC 6455 7.4.1/7.4.2 and the common peer rule (Autobahn 7.9): 1000-1003, 1007-1014 and
   * 3000-4999 may appear in a close frame; 1004-1006, 1015, 1016-2999, <1000, >4999 may not. */
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}
