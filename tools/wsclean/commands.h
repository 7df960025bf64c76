/* The wsclean CLI's subcommands. Each lives in its own cmd_<name>.c and is one line in the table
 * in main.c. A command gets argv[0] = its own name and returns the process exit status:
 *   0 success, 1 the job failed (network, I/O...), 2 bad usage (unknown option, bad value).
 * `wsclean help <name>` runs the command with the single argument "--help", which must print the
 * command's usage to stdout and return 0. */
#ifndef WSCLEAN_TOOLS_COMMANDS_H
#define WSCLEAN_TOOLS_COMMANDS_H

#include <stdio.h>

enum { WS_EXIT_OK = 0, WS_EXIT_FAIL = 1, WS_EXIT_USAGE = 2 };

typedef struct ws_cli_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary; /* one line for `wsclean --help` */
} ws_cli_command;

/* wsclean codes [CODE|all] [--lang en|es|pt|fr] [--json|--markdown] */
int ws_cmd_codes(int argc, char **argv);
/* The document `wsclean codes all --json --lang L` prints; `serve` answers /codes.json with it. */
#include "wsclean/close_codes.h"
void ws_cli_codes_json(FILE *out, ws_close_lang lang);

/* wsclean probe URL [--json] [--timeout MS] [--origin O] [--ca F | --insecure] */
int ws_cmd_probe(int argc, char **argv);

/* wsclean serve [--host H] [--port N] [--verbose] ... (see --help) */
int ws_cmd_serve(int argc, char **argv);
/* wsclean connect URL [--json] [--echo] ... (see --help) */
int ws_cmd_connect(int argc, char **argv);
/* wsclean proxy --listen [HOST:]PORT --to ws://UPSTREAM */
int ws_cmd_proxy(int argc, char **argv);

#endif
