"""Counter-based draws: frozen values (every stored dataset depends on them) and their structure."""

import torch

from engine.data import rand

IDX = torch.tensor([0, 1, 7, 2**33 + 5, 2**40])


def test_draws_are_frozen():
    # Changing these numbers changes every generated dataset: bump the dataset kind's version.
    key = rand.derive(0, "golden")
    assert key == 6537550992015281931
    assert rand.bits(key, IDX, 2).tolist() == [
        [732162690, 2226199537], [2598153229, 1492538412], [344590932, 690192564],
        [2881528560, 2518002806], [1115365923, 1520776311]]
    assert rand.randint(key, IDX, 10).tolist() == [0, 9, 2, 0, 3]
    u = rand.uniform(key, IDX)[:, 0]
    assert torch.equal(u, (rand.bits(key, IDX, 1)[:, 0] >> 8).float() / 2**24)


def test_many_keys_at_once_match_one_at_a_time():
    keys = [rand.derive(3, name) for name in ("rotate", "hue", "blur")]
    idx = torch.arange(1000, 1100)
    many = rand.uniform_many(keys, idx, 3)
    assert many.shape == (3, 100, 3)
    for k, key in enumerate(keys):
        assert torch.equal(many[k], rand.uniform(key, idx, 3))
        assert torch.equal(rand.bits_many(keys, idx, 3)[k], rand.bits(key, idx, 3))
    # stream j does not depend on how many streams are drawn
    assert torch.equal(rand.uniform(keys[0], idx, 1)[:, 0], many[0, :, 0])


def test_draws_depend_only_on_key_and_index():
    key = rand.derive(1, "x")
    idx = torch.arange(5000)
    whole = rand.uniform(key, idx)
    assert torch.equal(rand.uniform(key, idx.flip(0)), whole.flip(0))
    assert torch.equal(rand.uniform(key, idx[2500:]), whole[2500:])
    assert not torch.equal(rand.uniform(rand.derive(2, "x"), idx), whole)
    assert 0.48 < whole.mean().item() < 0.52 and whole.min() >= 0 and whole.max() < 1
    counts = torch.bincount(rand.randint(key, idx, 10), minlength=10)
    assert counts.min() > 400 and counts.max() < 600
    assert rand.uniform(key, idx[:0]).shape == (0, 1)
