"""Each shipped probe kind's jobs, from its [[probe]] table resolved for one cell.

Every probe kind's record in dsl.kinds names its builder here (a plugin's may live anywhere):
build(resolver, probe model, target task, seed, factor values, spec path, model config, train
job) -> (the probe's job, every job it needs, the transforms it probes). Configs are typed
(dsl.job_configs) and hash as the dicts they always were: a changed field here changes JobIds
(tests/test_plan_pinned.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from dsl import catalog
from dsl.graph import Job
from dsl.job_configs import (FINETUNE_LINEAR, AccuracyConfig, FeaturesConfig, FinetuneConfig,
                             LinearConfig, ModelConfig, ScheduleConfig, SensitivityConfig, Vary,
                             transforms)

if TYPE_CHECKING:
    from dsl.resolve import Resolver, Task


def typed_model(r: Resolver, model: dict) -> ModelConfig:
    """The trained model's config, typed once per train job (the planner passes every probe of a
    cell the same dict; a spec may have tens of thousands of probe jobs)."""
    key = ("model config", id(model))
    known = r._memo.get(key)
    if known is None or known[0] is not model:
        known = r._memo[key] = (model, ModelConfig.parse(model))
    return known[1]


def linear_jobs(r: Resolver, p: Any, target: Task, seed: int, env: Mapping[str, Any],
                path: tuple, model: dict, train: Job) -> tuple[Job, list[Job], tuple[str, ...]]:
    r._check_n_train(p.n_train, target, path, env)
    features = r.job("features", FeaturesConfig(typed_model(r, model)),
                     {"model": train.id, "data": target.dataset.id})
    job = r.job("linear", LinearConfig(
        label=target.label, epochs=int(p.epochs), lr=float(p.lr), batch_size=int(p.batch_size),
        weight_decay=float(p.weight_decay), n_train=p.n_train, seed=seed),
        {"features": features.id})
    return job, [target.dataset, features, job], target.transforms


def finetune_jobs(r: Resolver, p: Any, target: Task, seed: int, env: Mapping[str, Any],
                  path: tuple, model: dict, train: Job) -> tuple[Job, list[Job], tuple[str, ...]]:
    r._check_n_train(p.n_train, target, path, env)
    linear = LinearConfig(label=target.label, epochs=int(p.linear_epochs),
                          lr=float(p.linear_lr), **FINETUNE_LINEAR, n_train=int(p.n_train),
                          seed=seed)
    # augment is absent when empty, as in train: jobs without augmentation keep their ids
    config = FinetuneConfig(
        model=typed_model(r, model), label=target.label, n_train=int(p.n_train),
        linear=linear, epochs=int(p.epochs), lr=float(p.lr), batch_size=int(p.batch_size),
        optimizer=p.optimizer, weight_decay=float(p.weight_decay),
        schedule=ScheduleConfig(p.schedule, int(p.warmup_epochs), float(p.final_lr)),
        seed=seed, augment=transforms(r.augment(p, seed, path, env)))
    job = r.job("finetune", config, {"model": train.id, "data": target.dataset.id})
    return job, [target.dataset, job], target.transforms


def sensitivity_jobs(r: Resolver, p: Any, target: Task, seed: int, env: Mapping[str, Any],
                     path: tuple, model: dict, train: Job
                     ) -> tuple[Job, list[Job], tuple[str, ...]]:
    vary, probed = r._vary(p.vary, target, seed, env, path + ("vary",))
    config = SensitivityConfig(
        model=typed_model(r, model), data=target.data,
        vary=Vary(vary.get("component"), transforms(vary["transforms"])
                  if "transforms" in vary else None), pairs=int(p.pairs), seed=seed)
    job = r.job("sensitivity", r.with_files(config.to_config()), {"model": train.id})
    return job, [job], probed


def accuracy_jobs(r: Resolver, p: Any, target: Task, seed: int, env: Mapping[str, Any],
                  path: tuple, model: dict, train: Job) -> tuple[Job, list[Job], tuple[str, ...]]:
    # the source model's own head, so the class counts must agree
    if target.num_classes != model["num_classes"]:
        raise r._fail(path + ("task",), f"task '{target.name}' has "
                      f"{target.num_classes} classes, the model "
                      f"{model['num_classes']}", "an accuracy probe needs a task "
                      "with the training task's classes", env)
    job = r.job("accuracy", AccuracyConfig(
        model=typed_model(r, model), label=target.label,
        # a set of splits: one identity whatever the order
        splits=tuple(s for s in catalog.SPLITS if s in p.splits)),
        {"model": train.id, "data": target.dataset.id})
    return job, [target.dataset, job], target.transforms
