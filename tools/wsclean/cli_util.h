/* wsclean CLI — small helpers shared by the subcommands (JSON output, number parsing). */
#ifndef WSCLEAN_TOOLS_CLI_UTIL_H
#define WSCLEAN_TOOLS_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write s[0..len) as a JSON string (with quotes). Bytes that are not valid UTF-8 are written
 * as U+FFFD so the output is always valid JSON. */
void wscli_json_str(FILE *out, const char *s, size_t len);
/* Parse an unsigned decimal in [lo, hi]; returns false on garbage or out of range. */
bool wscli_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Sizes like 16M, 1024, 64k (powers of 1024). */
bool wscli_parse_size(const char *s, uint64_t *out);
/* The send-queue cap an echoing endpoint needs: room for a message of the largest size it
 * accepts plus what is still in flight (twice the limit + 1 MiB), never below `current`. */
size_t wscli_echo_queue_limit(uint64_t max_message, size_t current);
/* For a single-threaded command that polls the loop itself: block SIGINT and SIGTERM and return
 * a signalfd that reports them (-1 on failure), and ignore SIGPIPE (stdout may be a closed pipe).
 */
int wscli_signalfd(void);

#endif
