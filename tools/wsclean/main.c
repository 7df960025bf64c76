/* wsclean: the command-line tool. `wsclean <command> [args]`; each command is a function in its
 * own file (commands.h), and this file only finds it. To add one: write cmd_<name>.c with
 * ws_cmd_<name>(), declare it in commands.h, add one line to `commands` below and a section to
 * docs/wsclean.1. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#ifndef WSCLEAN_VERSION
#define WSCLEAN_VERSION "unknown"
#endif

static const ws_cli_command commands[] = {
    {"codes", ws_cmd_codes, "explain WebSocket close codes (RFC 6455 / IANA), in 4 languages"},
    {"probe", ws_cmd_probe, "check how any WebSocket server closes: a report card"},
    {"serve", ws_cmd_serve, "echo server + the CloseEvent playground page on :9001"},
    {"connect", ws_cmd_connect, "interactive client; prints the CloseEvent at the end"},
    {"proxy", ws_cmd_proxy, "WebSocket reverse proxy; 1014 when the upstream fails"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static const ws_cli_command *find_command(const char *name) {
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static void usage(FILE *out) {
  fputs("usage: wsclean <command> [args]\n"
        "       wsclean help <command>\n"
        "       wsclean --help | --version\n"
        "\n"
        "A WebSocket (RFC 6455) toolkit whose every close is reported as a browser's CloseEvent.\n"
        "\n"
        "commands:\n",
        out);
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fputs("\nexit status: 0 success, 1 failure, 2 bad usage. See wsclean(1).\n", out);
}

static int unknown_command(const char *name) {
  fprintf(stderr, "wsclean: unknown command '%s' (see wsclean --help)\n", name);
  return WS_EXIT_USAGE;
}

static int run_help(int argc, char **argv) {
  if (argc < 3) {
    usage(stdout);
    return WS_EXIT_OK;
  }
  if (argc > 3) {
    fprintf(stderr, "wsclean help: one command at a time (see wsclean --help)\n");
    return WS_EXIT_USAGE;
  }
  const ws_cli_command *c = find_command(argv[2]);
  if (!c)
    return unknown_command(argv[2]);
  char name[32], opt[] = "--help";
  snprintf(name, sizeof name, "%s", c->name);
  char *sub_argv[] = {name, opt, NULL};
  return c->run(2, sub_argv);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return WS_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  int rc;
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    rc = WS_EXIT_OK;
  } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("wsclean %s\n", WSCLEAN_VERSION);
    rc = WS_EXIT_OK;
  } else if (strcmp(cmd, "help") == 0) {
    rc = run_help(argc, argv);
  } else {
    const ws_cli_command *c = find_command(cmd);
    if (!c)
      return unknown_command(cmd);
    rc = c->run(argc - 1, argv + 1);
  }
  /* Output that could not be written (a full disk, a closed pipe) is a failure, not a success. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    if (rc == WS_EXIT_OK)
      rc = WS_EXIT_FAIL;
  }
  return rc;
}
