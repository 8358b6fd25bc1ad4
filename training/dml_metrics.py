"""Retrieval metrics with pytorch-metric-learning's AccuracyCalculator semantics (reference retrieval.md §2.3).

Cosine similarity on L2-normalised embeddings, queries retrieved among the references; when the references are
the queries themselves, each query's own row is removed and R_q = (count of its label) − 1. Queries whose
label has no other reference are skipped. Micro averages over queries:
- P@1 (= Recall@1): the nearest neighbour has the query's label;
- Recall@K: at least one of the K nearest has the query's label (the Song et al. hit rate);
- R-Precision: same-label items among the R_q nearest, divided by R_q;
- MAP@R: (1/R_q) Σ_{i ≤ R_q} P(i)·rel(i), with P(i) the precision of the first i results.
"""

import numpy as np
import torch

RECALL_KS = (1, 2, 4, 8)


@torch.no_grad()
def retrieval_metrics(queries, query_labels, references=None, reference_labels=None, chunk=1000):
    """queries [Q, d] and references [N, d] (float tensors, rows L2-normalised), labels int64 arrays."""
    includes_queries = references is None
    if includes_queries:
        references, reference_labels = queries, query_labels
    query_labels = torch.as_tensor(query_labels)
    reference_labels = torch.as_tensor(reference_labels)
    counts = torch.bincount(reference_labels, minlength=int(query_labels.max()) + 1)
    relevant = counts[query_labels] - int(includes_queries)
    depth = int(relevant.max()) if len(relevant) else 0
    depth = max(depth, max(RECALL_KS))
    totals = {"precision_at_1": 0.0, "r_precision": 0.0, "map_at_r": 0.0, **{f"recall_at_{k}": 0.0 for k in RECALL_KS}}
    counted = 0
    for start in range(0, len(queries), chunk):
        rows = slice(start, start + chunk)
        similarity = queries[rows] @ references.t()
        if includes_queries:
            own = torch.arange(start, min(start + chunk, len(queries)))
            similarity[own - start, own] = -float("inf")
        nearest = similarity.topk(depth, dim=1).indices
        matches = (reference_labels[nearest] == query_labels[rows, None]).float()
        r = relevant[rows]
        keep = r > 0
        matches, r = matches[keep], r[keep].float()
        ranks = torch.arange(1, depth + 1, dtype=torch.float32)
        within_r = ranks[None, :] <= r[:, None]
        precision_at_i = matches.cumsum(dim=1) / ranks[None, :]
        totals["precision_at_1"] += float(matches[:, 0].sum())
        for k in RECALL_KS:
            totals[f"recall_at_{k}"] += float(matches[:, :k].max(dim=1).values.sum())
        totals["r_precision"] += float(((matches * within_r).sum(dim=1) / r).sum())
        totals["map_at_r"] += float(((precision_at_i * matches * within_r).sum(dim=1) / r).sum())
        counted += int(keep.sum())
    return {name: round(value / counted, 4) for name, value in totals.items()}


def raw_pixel_embeddings(images_uint8):
    """Flattened raw pixels (not centred), L2-normalised: the no-learning floor."""
    flat = torch.from_numpy(images_uint8.reshape(len(images_uint8), -1).astype(np.float32))
    return torch.nn.functional.normalize(flat, dim=1)


def pca_embeddings(fit_uint8, images_uint8, dim=64):
    """PCA fitted on fit_uint8 (training images only), applied to images_uint8, L2-normalised."""
    fit = torch.from_numpy(fit_uint8.reshape(len(fit_uint8), -1).astype(np.float32) / 255.0)
    mean = fit.mean(dim=0, keepdim=True)
    _, _, components = torch.pca_lowrank(fit - mean, q=dim, center=False, niter=4)
    data = torch.from_numpy(images_uint8.reshape(len(images_uint8), -1).astype(np.float32) / 255.0)
    return torch.nn.functional.normalize((data - mean) @ components, dim=1)
