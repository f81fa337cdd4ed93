"""Tokenizers in worker processes (fork, forkserver, spawn), the per-worker
streams of Tokenizer.derive, str pieces in piece_to_id, and Trainer.train's
refusal of one big string.

Real worker processes: a multiprocessing Pool of each start method.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle

import pytest

import bytepiece
from conftest import MODEL_40K

# Many segmentations: two independent samples are never equal in practice.
TEXT = "今天天气很好我们一起去公园散步然后吃饭" * 10
ALPHA = 0.1

START_METHODS = ["fork", "forkserver", "spawn"]


def _pool_context(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    return multiprocessing.get_context(method)


def _draw(tok):
    """Several samples of TEXT without seed= (whole id lists): two calls of
    encode and one of sample, i.e. three draws from the tokenizer's generator."""
    return [tok.encode(TEXT, alpha=ALPHA) for _ in range(2)] + tok.sample(TEXT, 3, alpha=ALPHA)


# -- what the workers run -----------------------------------------------------------
# The tokenizers reach each worker through the Pool's initializer: inherited as
# they are under fork, pickled under forkserver and spawn.

_WORKER = {}


def _init_worker(unseeded, seeded, barrier):
    _WORKER.update(unseeded=unseeded, seeded=seeded, barrier=barrier)


def _task(args):
    kind = args[0]
    if kind == "derive":
        _, worker, epoch = args
        return _draw(_WORKER["seeded"].derive(worker, epoch))
    # Both tasks of a pair wait for each other: each runs in its own worker,
    # and it is that worker's first draw from the tokenizer.
    _WORKER["barrier"].wait(timeout=60)
    return os.getpid(), _draw(_WORKER[kind])


@pytest.mark.parametrize("method", START_METHODS)
def test_workers_sample_independently_or_reproducibly(method):
    ctx = _pool_context(method)
    unseeded = bytepiece.Tokenizer(MODEL_40K)
    seeded = bytepiece.Tokenizer(unseeded.model, seed=2024)
    _draw(unseeded), _draw(seeded)  # the parent has sampled before making its workers
    with ctx.Pool(2, initializer=_init_worker, initargs=(unseeded, seeded, ctx.Barrier(2))) as pool:
        free = pool.map(_task, [("unseeded", 0), ("unseeded", 1)], chunksize=1)
        fixed = pool.map(_task, [("seeded", 0), ("seeded", 1)], chunksize=1)
        derived_tasks = [("derive", w, e) for e in (0, 1) for w in (0, 1)]
        derived = pool.map(_task, derived_tasks, chunksize=1)
        derived_again = pool.map(_task, derived_tasks[::-1], chunksize=1)[::-1]

    # Unseeded: each worker has a stream of its own, and the parent too.
    (pid_a, a), (pid_b, b) = free
    assert pid_a != pid_b
    parent_next = _draw(unseeded)
    assert a != b and a != parent_next and b != parent_next
    assert len({tuple(ids) for ids in a + b + parent_next}) == len(a + b + parent_next)  # all 15 samples differ
    assert all(unseeded.decode(ids) == TEXT for ids in a + b)

    # Seeded: reproducible, so both workers continue the parent's sequence...
    (pid_a, a), (pid_b, b) = fixed
    assert pid_a != pid_b
    assert a == b == _draw(seeded)

    # ... and derive gives each (worker, epoch) its own reproducible stream,
    # the same in any process, whatever the tokenizer has drawn before.
    assert derived == derived_again
    assert derived == [_draw(seeded.derive(w, e)) for _, w, e in derived_tasks]
    samples = [tuple(ids) for draws in derived for ids in draws]
    assert len(set(samples)) == len(samples)
    assert not set(samples) & {tuple(ids) for ids in _draw(bytepiece.Tokenizer(unseeded.model, seed=2024))}


def _draw_in_child(_):
    return _draw(_WORKER["unseeded"])


def test_forked_child_does_not_inherit_a_held_lock():
    # A thread of the parent holding the generator's lock while another forks:
    # the child gets a lock of its own instead of one that nobody will release.
    ctx = _pool_context("fork")
    tok = bytepiece.Tokenizer(MODEL_40K)
    with tok._rng_lock:
        pool = ctx.Pool(1, initializer=_init_worker, initargs=(tok, tok, None))
    try:
        assert len(pool.map_async(_draw_in_child, [0]).get(timeout=30)[0]) == 5
    finally:
        pool.terminate()
        pool.join()


# -- pickling and copies ------------------------------------------------------------


@pytest.fixture(scope="module")
def tok():
    return bytepiece.Tokenizer(MODEL_40K)


def test_unpickled_unseeded_tokenizer_samples_independently(tok):
    copy = pickle.loads(pickle.dumps(tok))
    assert copy.seed is None and copy.model == tok.model
    assert _draw(copy) != _draw(tok)
    again = pickle.loads(pickle.dumps(tok))
    assert _draw(again) != _draw(pickle.loads(pickle.dumps(tok)))


def test_unpickled_seeded_tokenizer_continues_its_sequence(tok):
    seeded = bytepiece.Tokenizer(tok.model, seed=11)
    _draw(seeded)
    copy = pickle.loads(pickle.dumps(seeded))
    assert copy.seed == 11
    assert _draw(copy) == _draw(seeded)
    derived = seeded.derive(3, 1)
    assert pickle.loads(pickle.dumps(derived)).seed == derived.seed


def test_set_seed_switches_between_seeded_and_unseeded(tok):
    t = bytepiece.Tokenizer(tok.model, seed=5)
    assert t.seed == 5
    t.set_seed(None)
    assert t.seed is None
    assert _draw(pickle.loads(pickle.dumps(t))) != _draw(t)
    t.set_seed(6)
    assert t.seed == 6
    assert _draw(pickle.loads(pickle.dumps(t))) == _draw(t)


# -- derive -------------------------------------------------------------------------


def test_derive_is_reproducible_and_distinct(tok):
    a = bytepiece.Tokenizer(tok.model, seed=99)
    b = bytepiece.Tokenizer(tok.model, seed=99)
    _draw(b)  # how far the tokenizer has sampled does not matter
    assert _draw(a.derive(1, 2)) == _draw(b.derive(1, 2))
    assert a.derive(1, 2).seed == b.derive(1, 2).seed
    seeds = {a.derive(w, e).seed for w in range(4) for e in range(4)}
    seeds |= {a.seed, bytepiece.Tokenizer(tok.model, seed=100).derive(0).seed}
    assert len(seeds) == 18
    assert all(0 <= s < 2**64 for s in seeds)
    assert a.derive(0).seed == a.derive(0, epoch=0).seed
    assert a.seed == 99  # derive leaves the tokenizer alone
    # Shares the model and encodes the same.
    d = a.derive(1)
    assert d.model is a.model and d.encode(TEXT) == a.encode(TEXT)
    assert d.encode(TEXT, alpha=ALPHA, seed=3) == a.encode(TEXT, alpha=ALPHA, seed=3)


def test_derive_of_unseeded_tokenizer_is_unseeded(tok):
    d0, d1 = tok.derive(0), tok.derive(0)
    assert d0.seed is None and d1.seed is None
    assert _draw(d0) != _draw(d1)


def test_derive_checks_its_arguments(tok):
    with pytest.raises(ValueError, match="worker"):
        tok.derive(-1)
    with pytest.raises(TypeError, match="epoch"):
        tok.derive(0, epoch=1.5)
    with pytest.raises(TypeError, match="worker"):
        tok.derive(True)


# -- piece_to_id with str --------------------------------------------------------


def test_piece_to_id_takes_str_as_its_utf8_bytes(tok):
    assert tok.piece_to_id("the") == tok.piece_to_id(b"the")
    assert tok.piece_to_id("的") == tok.piece_to_id("的".encode())
    assert tok.pieces_to_ids(["the", b"the", "<pad>", "<bos>", "<eos>"]) == [tok.piece_to_id(b"the")] * 2 + [0, 1, 2]
    for token_id in (3, 100, 4688, tok.vocab_size - 1):
        piece = tok.id_to_piece(token_id)
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            continue
        assert tok.piece_to_id(text) == token_id


def test_piece_to_id_still_refuses_unknown_pieces(tok):
    for bad in ["not a piece of this vocabulary at all", "\ud800", "<unk>", 5, None, b"<unk>", b"\xff<pad>"]:
        with pytest.raises(bytepiece.UnknownTokenError):
            tok.piece_to_id(bad)
    assert tok.piece_to_id(b"<pad>") == 0  # a special token's name as UTF-8 bytes, as ids_to_pieces gives it
    with pytest.raises(KeyError):
        tok.pieces_to_ids(["the", "no such piece at all, surely"])


# -- Trainer.train -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["one big string of text", b"one big bytes", bytearray(b"one big bytearray")])
def test_train_refuses_one_string(text):
    with pytest.raises(TypeError, match="list of texts"):
        bytepiece.Trainer(max_vocab_size=300, min_count=1).train(text)


def test_train_still_takes_a_list():
    trainer = bytepiece.Trainer(max_vocab_size=300, min_count=1)
    trainer.train(["one big string of text"] * 3)
    assert trainer.pieces


# -- optional: PyTorch DataLoader and Hugging Face datasets --------------------------


class _TextsDataset:
    """A map-style dataset: item i is (worker id, a sample of TEXT)."""

    epoch = 0

    def __init__(self, tok, n):
        self.tok, self.n = tok, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        import torch.utils.data

        info = torch.utils.data.get_worker_info()
        return (info.id if info else -1), self.tok.encode(TEXT, alpha=ALPHA)


def _derive_worker_init(worker_id):
    import torch.utils.data

    ds = torch.utils.data.get_worker_info().dataset
    ds.tok = ds.tok.derive(worker_id, ds.epoch)


def _keep(item):
    return item


def _load(tok, epoch=0):
    import torch.utils.data

    ds = _TextsDataset(tok, 4)
    ds.epoch = epoch
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, collate_fn=_keep,
                                         worker_init_fn=_derive_worker_init)
    return list(loader)


def test_torch_dataloader_workers():
    pytest.importorskip("torch")
    unseeded = bytepiece.Tokenizer(MODEL_40K)
    items = _load(unseeded)
    assert sorted({w for w, _ in items}) == [0, 1]
    samples = [tuple(ids) for _, ids in items]
    assert len(set(samples)) == len(samples)

    seeded = bytepiece.Tokenizer(unseeded.model, seed=7)
    first = _load(seeded)
    assert first == _load(seeded)  # reproducible
    assert first != _load(seeded, epoch=1)
    samples = [tuple(ids) for _, ids in first]
    assert len(set(samples)) == len(samples)  # distinct between workers


_DATASETS_TOK = {}


def _tokenize_rows(batch, indices, seed):
    tok = _DATASETS_TOK["tok"]
    return {"ids": tok.encode_batch(batch["text"], alpha=ALPHA, seed=seed, first_stream=indices[0], num_threads=1)}


def _tokenize_rows_unseeded(batch):
    return {"ids": _DATASETS_TOK["tok"].encode_batch(batch["text"], alpha=ALPHA, num_threads=1)}


def test_datasets_map_workers():
    datasets = pytest.importorskip("datasets")
    _DATASETS_TOK["tok"] = tok = bytepiece.Tokenizer(MODEL_40K, seed=3)
    try:
        ds = datasets.Dataset.from_dict({"text": [TEXT] * 8})
        seed = tok.derive(0, 0).seed
        one = ds.map(_tokenize_rows, batched=True, batch_size=3, with_indices=True, fn_kwargs={"seed": seed})["ids"]
        two = ds.map(_tokenize_rows, batched=True, batch_size=2, with_indices=True, num_proc=2,
                     fn_kwargs={"seed": seed})["ids"]
        assert one == two
        assert len({tuple(ids) for ids in one}) == len(one)

        _DATASETS_TOK["tok"] = bytepiece.Tokenizer(MODEL_40K)
        free = ds.map(_tokenize_rows_unseeded, batched=True, batch_size=4, num_proc=2,
                      load_from_cache_file=False)["ids"]
        assert len({tuple(ids) for ids in free}) == len(free)
    finally:
        _DATASETS_TOK.clear()
