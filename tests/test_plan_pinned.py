"""The job ids of every shipped spec's plan, pinned: a refactor that changes how configs are
built, defaulted or hashed orphans every result in a user's store, and this test says so by kind.

The pins were computed before the job-kind registry and the layering work, under no profile and
under smoke, with no local data present (CIFAR fingerprints are then "missing", the same on every
machine); the laptop profile's since its rules were chosen by measurement (docs/claims.md), and
only a deliberate change of those rules may change them. A deliberate change (a spec edited, a
kind's version bumped) regenerates them: `python3 tests/test_plan_pinned.py` prints the table to
paste below.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from dsl.planner import plan
from engine.store import recorded_lookup

SPECS = Path(__file__).resolve().parent.parent / "specs"


def fingerprint(spec: Path, profile: str | None, tmp: Path) -> dict[str, str]:
    """{kind: "count:sha256 of its sorted job ids (16 hex)"} of one spec's plan."""
    p = plan([spec], profile=profile,
             recorded=recorded_lookup(tmp / "store"), data_root=tmp / "no-data")
    by_kind: dict[str, list[str]] = {}
    for job in p.jobs.values():
        by_kind.setdefault(job.kind, []).append(str(job.id))
    return {kind: f"{len(ids)}:" + hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
            for kind, ids in sorted(by_kind.items())}


def shipped() -> list[Path]:
    return sorted(p for p in SPECS.glob("*.toml") if not p.name.startswith("_"))


PINS = {
    ('adversarial_invariance', None): {'dataset': '30:b00726ba3e930089', 'features': '120:cceb9ff84e4e3352', 'linear': '160:11aa250e535c14fc', 'sensitivity': '80:966f9a104b0bad53', 'train': '40:fdf4cbb79e907bec'},
    ('adversarial_invariance', 'smoke'): {'dataset': '3:e37259b53f422848', 'features': '12:9feb52bdcd4e2d78', 'linear': '16:bd015018428f76d5', 'sensitivity': '8:31915819e973a6d3', 'train': '4:283fb5fad71c37ed'},
    ('adversarial_invariance', 'laptop'): {'dataset': '15:b7b4daca5e2ea7f8', 'features': '60:4e8e9ae4fd31b666', 'linear': '80:4fc7691a75eda0d1', 'sensitivity': '40:716bdff4aac21a72', 'train': '20:7be5761b007112ad'},
    ('finetuning', None): {'dataset': '30:72c56c6e2ff767f5', 'finetune': '40:e1acf9ea1ad6b77a', 'train': '20:f61c026c1315de28'},
    ('finetuning', 'smoke'): {'dataset': '3:3d16d7f373323209', 'finetune': '4:ffdd3776d8c5040f', 'train': '2:7c6536d0275d3770'},
    ('finetuning', 'laptop'): {'dataset': '15:e7dd6880da532221', 'finetune': '20:ec2246073ed4c66e', 'train': '10:4b5b3e48bb295242'},
    ('invariance_mismatch', None): {'dataset': '160:c13b9b4e96806b7e', 'features': '640:321af9fcf16b60ed', 'linear': '640:a4e847676c2ffea8', 'train': '80:8c5b67b2471e7af6'},
    ('invariance_mismatch', 'smoke'): {'dataset': '16:cf2a2387697903a5', 'features': '64:c8e2a294ceaf9aa4', 'linear': '64:fdfb28337c494f5d', 'train': '8:951e8e0f40dde2e0'},
    ('invariance_mismatch', 'laptop'): {'dataset': '80:73f9427cd126792d', 'features': '320:a484604f5a92bbb2', 'linear': '320:2ab61ba8553276b3', 'train': '40:809b59e93c51a631'},
    ('invariance_sources', None): {'dataset': '70:7a6a501e900e1b74', 'features': '360:3ead84d6486ec62a', 'linear': '360:6564570ffc0dc4ff', 'sensitivity': '360:bfcb5be504d169ba', 'train': '280:0bd99925eb320ff1'},
    ('invariance_sources', 'smoke'): {'dataset': '7:d7a07b3c6a5278b4', 'features': '36:9c0ca72db26f6236', 'linear': '36:f16a994d0527f5c1', 'sensitivity': '36:95f0e32e9fe71cba', 'train': '28:c087f362d226369f'},
    ('invariance_sources', 'laptop'): {'dataset': '35:de07bb7feb5c3a4d', 'features': '180:d45b7f91d28913e2', 'linear': '180:463080660489f90c', 'sensitivity': '180:d08bff1cf5276305', 'train': '140:e1cfe196180e8a2f'},
    ('invariance_transfer', None): {'dataset': '380:763a70b578143b0d', 'sensitivity': '20520:c5245fbeb7ae0c2d', 'train': '380:160a3cc5adf6efe2'},
    ('invariance_transfer', 'smoke'): {'dataset': '38:691b9b40ffe37235', 'sensitivity': '2052:a6ea038654f5f490', 'train': '38:ce6fb596851d7461'},
    ('invariance_transfer', 'laptop'): {'dataset': '190:6a216de65b704248', 'sensitivity': '10260:d9b9a5d0c902888f', 'train': '190:fe95e72413fa7827'},
    ('invariance_transfer_cifar', None): {'dataset': '380:763a70b578143b0d', 'sensitivity': '13680:db8b8e40d81b1474', 'train': '380:160a3cc5adf6efe2'},
    ('invariance_transfer_cifar', 'smoke'): {'dataset': '38:691b9b40ffe37235', 'sensitivity': '1368:c360dbc6397ae836', 'train': '38:ce6fb596851d7461'},
    ('invariance_transfer_cifar', 'laptop'): {'dataset': '190:6a216de65b704248', 'sensitivity': '6840:fbd6519726e2ba6d', 'train': '190:fe95e72413fa7827'},
    ('invariance_vs_factors_architecture', None): {'dataset': '30:72c56c6e2ff767f5', 'features': '100:c4c4add71cb67d98', 'linear': '100:b676879e1dabcfd4', 'train': '100:36c3cd1b507b62d4'},
    ('invariance_vs_factors_architecture', 'smoke'): {'dataset': '3:3d16d7f373323209', 'features': '10:8e9cd376f9e91697', 'linear': '10:b80218eee38a59d7', 'train': '10:f3c0aef9a2c11023'},
    ('invariance_vs_factors_architecture', 'laptop'): {'dataset': '15:e7dd6880da532221', 'features': '50:5581487ebee71460', 'linear': '50:fa775875a9dc6e4d', 'train': '50:d6c704417af2cf00'},
    ('invariance_vs_factors_cifar10', None): {'dataset': '30:46c84bce4f4af218', 'features': '20:b92f5f6bcdc01322', 'linear': '20:dbae165c6bc82d65', 'train': '20:4604c10a14934583'},
    ('invariance_vs_factors_cifar10', 'smoke'): {'dataset': '3:86cf52e53c3ea8b2', 'features': '2:c15e4b32ee379ea1', 'linear': '2:116f559dcb9774b8', 'train': '2:7995873caa97a27c'},
    ('invariance_vs_factors_cifar10', 'laptop'): {'dataset': '15:7a325ce8a562556f', 'features': '10:5c56c57c4c3896cf', 'linear': '10:7ba2aa6b77b48924', 'train': '10:6f4cddbc9ec5d5d2'},
    ('invariance_vs_factors_cifar100', None): {'dataset': '30:7be69223400427be', 'features': '20:89ab5919dd462448', 'linear': '20:281cfe42f3329a7f', 'train': '20:5171f774206d608c'},
    ('invariance_vs_factors_cifar100', 'smoke'): {'dataset': '3:09ef91acf32a9660', 'features': '2:9e0a5564ed2b5d3e', 'linear': '2:0c24557267bef3d0', 'train': '2:201e1b15b5dafd53'},
    ('invariance_vs_factors_cifar100', 'laptop'): {'dataset': '15:0da9e22bb2a60185', 'features': '10:e5e5b9598261aaf3', 'linear': '10:5a09715bdcda4f78', 'train': '10:a0b1a366421b61be'},
    ('invariance_vs_factors_classes', None): {'dataset': '80:ab75419155cdd92c', 'features': '80:0a530acdff8da655', 'linear': '80:dce97d7e8afba8de', 'train': '80:6e243580642ec439'},
    ('invariance_vs_factors_classes', 'smoke'): {'dataset': '8:f33fe2d368eac5f3', 'features': '8:9595d25d083c4d72', 'linear': '8:08af152cc75a0d37', 'train': '8:48f215454a26fc7a'},
    ('invariance_vs_factors_classes', 'laptop'): {'dataset': '40:8b7b2d7b173c6eb0', 'features': '40:33a93b93362a60d9', 'linear': '40:e978de31bc44040d', 'train': '40:dd8707d58c124a97'},
    ('invariance_vs_factors_samples', None): {'dataset': '110:fbc15952195c9d36', 'features': '100:c8927b117a6d6770', 'linear': '100:759accedc6eea124', 'train': '100:44efc0d8f38f2b2d'},
    ('invariance_vs_factors_samples', 'smoke'): {'dataset': '3:3d16d7f373323209', 'features': '2:59fcb1679b447841', 'linear': '2:fe19087639d09c90', 'train': '2:7c6536d0275d3770'},
    ('invariance_vs_factors_samples', 'laptop'): {'dataset': '25:0cd58f5993d4af10', 'features': '20:bbc65fb9d7568f53', 'linear': '20:e13327ba55458fa4', 'train': '20:9ce941b0b045aed5'},
    ('quickstart', None): {'dataset': '9:ce7bd297cd4709dd', 'features': '6:8ed5767f491e67b6', 'linear': '6:d7cec2dbd7b3a1d7', 'train': '6:a6ef914c58629041'},  # 3 seeds since the claims; seeds 0-1 keep their ids
    ('quickstart', 'smoke'): {'dataset': '3:eb6e3fcb1992b7aa', 'features': '2:733957529326d410', 'linear': '2:a740b287e69bb80f', 'train': '2:4e7941c72bb409df'},
    ('quickstart', 'laptop'): {'dataset': '9:cca82c5289751eb4', 'features': '6:9593f8be1b08ac05', 'linear': '6:f0fd7a198db0491e', 'train': '6:14c89bfdb7b22c10'},
    ('relevance_availability', None): {'dataset': '140:16228f156326e097', 'features': '140:e31d912bf93b5b30', 'linear': '280:ae7fe283cda742c6', 'sensitivity': '140:3a24e0d362235396', 'train': '140:dd9f85cf5cfe1902'},
    ('relevance_availability', 'smoke'): {'dataset': '14:1d09cb3bf2a206d4', 'features': '14:0ab5c4c15f54d3f0', 'linear': '28:8c0bbb3ee12c63bf', 'sensitivity': '14:21eec6b36658901a', 'train': '14:a3d5bdcb0b593f5e'},
    ('relevance_availability', 'laptop'): {'dataset': '70:788b857e3a3be031', 'features': '70:d97098ed37c76360', 'linear': '140:0538c1eabef9a708', 'sensitivity': '70:4a5532065f0907e6', 'train': '70:ac1e40da1f906b5f'},
}


@pytest.mark.parametrize("profile", [None, "smoke", "laptop"])
@pytest.mark.parametrize("spec", shipped(), ids=lambda p: p.stem)
def test_job_ids_are_pinned(spec, profile, tmp_path):
    assert (spec.stem, profile) in PINS, f"{spec.name} has no pinned ids: regenerate the table"
    assert fingerprint(spec, profile, tmp_path) == PINS[(spec.stem, profile)]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for spec in shipped():
            for profile in (None, "smoke", "laptop"):
                print(f"    ({spec.stem!r}, {profile!r}): "
                      f"{fingerprint(spec, profile, Path(tmp))!r},")
    sys.exit(0)
