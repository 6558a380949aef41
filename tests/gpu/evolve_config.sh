# tests/gpu/evolve_config.sh — sourced by make_kit.sh (the CPU reference) and by the kit's run.sh
# (the same run on the GPU): one small but real evolution on the character tasks, long enough that
# every task ends well above chance (CPU: mnist 39%, bangla 28%; chance is 10%), so that a broken
# GPU op shows as an accuracy gap.
kit_evolve_args=(--tasks mnist,cmaterdb_bangla --task-iterations 1 --children-per-task 4
                 --parallel-slots 4 --validations 2 --steps-per-validation 50 --batch-size 128
                 --max-val-examples 500 --seed 0 --precision fp32)
# Children the run trains (2 tasks x 4), for children per hour.
kit_evolve_children=8
# Largest accepted |GPU - CPU| test accuracy per task: fp32 GEMMs round differently from OpenBLAS,
# so selection near ties may differ; a wrong kernel costs far more.
kit_accuracy_tolerance=0.10
