// munet's subcommands. Each takes the arguments after its name and returns the exit status.
#pragma once

namespace munet::app {

int train_command(int argc, char** argv);
int evolve_command(int argc, char** argv);
int info_command(int argc, char** argv);
int inspect_command(int argc, char** argv);
int export_command(int argc, char** argv);
int predict_command(int argc, char** argv);
int task_command(int argc, char** argv);
int import_command(int argc, char** argv);
int verify_command(int argc, char** argv);

}  // namespace munet::app
