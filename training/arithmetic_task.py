"""The synthetic reasoning task of the antidistillation experiment: multi-digit addition and
multiplication by one digit, solved with a scratch pad, one step per digit.

The vocabulary, the trace format and the operand-pair split are documented in
models/arithmetic-task/spec.json, which the server's tokenizer reads too.
"""

import hashlib
import json
import random

import torch

from manifest_update import MODELS_DIR

SPEC_PATH = MODELS_DIR / "arithmetic-task" / "spec.json"
SPEC = json.loads(SPEC_PATH.read_text())
TOKENS = SPEC["tokens"]
TOKEN_ID = {token: index for index, token in enumerate(TOKENS)}
PAD = TOKEN_ID[SPEC["special"]["pad"]]
BOS = TOKEN_ID[SPEC["special"]["bos"]]
EOS = TOKEN_ID[SPEC["special"]["eos"]]
VOCAB_SIZE = len(TOKENS)
CONTEXT = SPEC["context_length"]


def split_of(a, op, b):
    """The split a problem belongs to, decided by its operand pair (never by its trace)."""
    bucket = int(hashlib.md5(f"{a}{op}{b}".encode()).hexdigest()[:8], 16) % 100
    for name in ("test", "holdout", "train"):
        low, high = SPEC["split"][name]
        if low <= bucket < high:
            return name
    raise AssertionError(bucket)


def prompt_of(a, op, b):
    return f"Q:{a}{op}{b}="


def completion_of(a, op, b):
    """The ground-truth scratch pad and answer (without <eos>)."""
    digits_a = [int(d) for d in reversed(str(a))]
    digits_b = [int(d) for d in reversed(str(b))]
    steps, carry = [], 0
    if op == "+":
        for i in range(max(len(digits_a), len(digits_b))):
            da = digits_a[i] if i < len(digits_a) else 0
            db = digits_b[i] if i < len(digits_b) else 0
            value = da + db + carry
            steps.append(f"{da}+{db}+{carry}={value}|")
            carry = value // 10
        answer = a + b
    else:
        for da in digits_a:
            value = da * b + carry
            steps.append(f"{da}*{b}+{carry}={value}|")
            carry = value // 10
        answer = a * b
    return "".join(steps) + f"A:{answer}"


def answer_of(a, op, b):
    return a + b if op == "+" else a * b


def parse_prompt(prompt):
    """(a, op, b) of 'Q:<a><op><b>='."""
    body = prompt[2:-1]
    op = "+" if "+" in body else "*"
    a, b = body.split(op)
    return int(a), op, int(b)


def graded_answer(completion):
    """The integer after the last 'A:' of a completion, or None when there is none."""
    if "A:" not in completion:
        return None
    tail = completion.rsplit("A:", 1)[1]
    digits = ""
    for char in tail:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else None


def random_number(rng, digits):
    return rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1)


def sample_problem(rng, min_digits, max_digits):
    """A random problem whose longer operand has min_digits..max_digits digits; half +, half *."""
    digits = rng.randint(min_digits, max_digits)
    if rng.random() < 0.5:
        a = random_number(rng, digits)
        b = random_number(rng, rng.randint(1, digits))
        if rng.random() < 0.5:
            a, b = b, a
        return a, "+", b
    return random_number(rng, digits), "*", rng.randint(0, 9)


def sample_problems(seed, count, split, min_digits, max_digits):
    """`count` distinct problems of one split (None: any split)."""
    rng = random.Random(seed)
    seen, problems = set(), []
    while len(problems) < count:
        problem = sample_problem(rng, min_digits, max_digits)
        if problem in seen or (split is not None and split_of(*problem) != split):
            continue
        seen.add(problem)
        problems.append(problem)
    return problems


def encode(text):
    return [TOKEN_ID[char] for char in text]


def decode(ids):
    return "".join(TOKENS[i] for i in ids if i not in (PAD, BOS, EOS))


def training_batch(pairs):
    """(prompt, completion) pairs → input ids, targets with prompt and padding positions masked (-100).

    The loss is on completion tokens only (and <eos>), as the official code's completion-only collator.
    """
    rows = []
    for prompt, completion in pairs:
        prompt_ids = [BOS, *encode(prompt)]
        completion_ids = [*encode(completion), EOS]
        rows.append((prompt_ids, completion_ids))
    length = max(len(p) + len(c) for p, c in rows)
    inputs = torch.full((len(rows), length - 1), PAD, dtype=torch.long)
    targets = torch.full((len(rows), length - 1), -100, dtype=torch.long)
    for row, (prompt_ids, completion_ids) in enumerate(rows):
        sequence = prompt_ids + completion_ids
        inputs[row, : len(sequence) - 1] = torch.tensor(sequence[:-1])
        targets[row, len(prompt_ids) - 1 : len(sequence) - 1] = torch.tensor(completion_ids)
    return inputs, targets
