/* onyx — command-line front end.  One file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "onyx.h"
#include "tools/commands.h"

static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help;
} commands[] = {
    {"info", cmd_info, "describe an ONNX model: I/O, ops, parameters, MACs"},
    {"run", cmd_run, "run a model once on given or random inputs; write outputs as .npy"},
    {"classify", cmd_classify, "top-k ImageNet classes of JPEG/PNG photos"},
    {"detect", cmd_detect, "objects in JPEG/PNG photos (YOLOv5/v8/11, SSD): boxes printed, drawn, as JSON"},
    {"build", cmd_build, "optimise a model for the GPU and save it as an engine file"},
    {"bench", cmd_bench, "benchmark a model or engine as trtexec does, explain the numbers, profile layers"},
};

static void usage(FILE *f)
{
  fprintf(f, "onyx %s — ONNX inference engine\n\nusage: onyx <command> [options]\n\ncommands:\n",
          onyx_version_string());
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\n'onyx <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("onyx %s\n", onyx_version_string());
    return 0;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "onyx: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
