#ifndef ONYX_TOOLS_COMMANDS_H
#define ONYX_TOOLS_COMMANDS_H

/* Each subcommand gets argv starting at its own name; returns the exit code. */
int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
