#pragma once
// The one entry point of every train_* executable: parse the recipe's typed flags, set up
// the session, build the recipe, and run it (train/recipe.h).
//
//   int main(int argc, char** argv) { return train::train_main<ClassifierRecipe>(flags(), argc, argv); }
#include "core/cli.h"
#include "core/options.h"
#include "train/recipe.h"

namespace zoo::train {

// The runtime (--device, --threads, --seed) and the process group of a distributed run
// (torchrun's or zoo_launch's environment; a group of one otherwise). On CUDA each process
// takes the GPU of its LOCAL_RANK.
Session start_session(const CommonOptions& options);

// Runs a built recipe to the end: run directory, loader, trainer, schedule, EMA, resume,
// reports. Returns the exit status.
int run_recipe(Recipe& recipe, const TrainingOptions& options, const Session& session);

// R is built as R(const R::Options&, const Session&).
template <class R>
int train_main(const Flags<typename R::Options>& flags, int argc, char** argv) {
  return run_main([&] {
    const typename R::Options options = flags.parse(argc, argv);
    const Session session = start_session(options);
    R recipe(options, session);
    return run_recipe(recipe, options, session);
  });
}

}  // namespace zoo::train
