/* Extension negotiation (RFC 6455 9.1) between the handshake and the ws_extension hooks. */
#ifndef WS_PROTO_EXTENSIONS_H
#define WS_PROTO_EXTENSIONS_H

#include "wsclean/handshake.h"

/* Client: fill `offers` from every extension's client_offer hook (or its bare name). */
int ws__ext_client_offers(const ws_extension *exts, size_t n, ws_ext_list *offers, char *detail,
                          size_t detail_cap);
/* Client: check the server's accepted list against what was offered; *rsv gets the RSV bits. */
int ws__ext_client_verify(const ws_extension *exts, size_t n, const ws_ext_list *response,
                          uint8_t *rsv, char *detail, size_t detail_cap);
/* Server: walk the client's offers in order, ask the supported extensions, fill `response`. */
int ws__ext_server_negotiate(const ws_extension *exts, size_t n, const ws_ext_list *offers,
                             ws_ext_list *response, uint8_t *rsv, char *detail, size_t detail_cap);

#endif
