"""Deep-metric-learning losses on L2-normalised embeddings: the two mean-field losses and four baselines.

Formulas follow Furusawa, "Mean Field Theory in Deep Metric Learning" (arXiv 2306.15368) as its official
code implements them (st-tech/mft-in-dml, code/loss/mean_field_contrastive_loss.py and
mean_field_classwise_multisimilarity_loss.py) and the published definitions of the baselines with the hyper-parameters that code
passes to them. Every loss takes (embeddings [B, d], labels [B]) and returns a scalar; losses with learnable
class parameters (mean fields, proxies) are nn.Modules whose parameters go in their own optimiser group.

Deviation: the optional mean-field separation regulariser (mf_reg) is left out; it is 0 in every released run.
"""

import torch
import torch.nn.functional as F
from torch import nn


def cosine_to_classes(embeddings, class_vectors):
    """[B, d] embeddings against [C, d] class vectors (mean fields or proxies), both normalised: [B, C] cosines."""
    return F.normalize(embeddings, dim=1) @ F.normalize(class_vectors, dim=1).t()


class MeanFieldContrastive(nn.Module):
    """L = (1/B) Σ_i ([d(f_i, M_{y_i}) − m⁺]₊ + Σ_{c≠y_i} [m⁻ − d(f_i, M_c)]₊), d = 1 − cos.

    Negatives run over every class, present in the batch or not: O(B·C), no pairs, no mining.
    """

    def __init__(self, num_classes, dim, pos_margin=0.02, neg_margin=0.3):
        super().__init__()
        self.mean_fields = nn.Parameter(torch.randn(num_classes, dim))
        self.pos_margin, self.neg_margin = pos_margin, neg_margin

    def forward(self, embeddings, labels):
        distance = 1.0 - cosine_to_classes(embeddings, self.mean_fields)
        own = F.one_hot(labels, distance.shape[1]).bool()
        positive = F.relu(distance[own] - self.pos_margin)
        negative = F.relu(self.neg_margin - distance).masked_fill(own, 0.0).sum(dim=1)
        return (positive + negative).mean()


class MeanFieldClassWiseMultiSimilarity(nn.Module):
    """MF-CWMS: class-wise multi-similarity with each sample compared to the mean fields.

    P_c = mean_{i∈B_c} exp(−α(s_ic − λ)), Q_cc' = mean_{i∈B_c} exp(β(s_ic' − λ)) (0 for classes absent from the
    batch), L = 1/(α C_b) Σ_c log(1 + P_c) + 1/(2β C_b) Σ_{c≠c'} log(1 + Q_cc' + Q_c'c).
    """

    def __init__(self, num_classes, dim, alpha=0.01, beta=80.0, base=0.8):
        super().__init__()
        self.mean_fields = nn.Parameter(torch.randn(num_classes, dim))
        self.alpha, self.beta, self.base = alpha, beta, base

    def forward(self, embeddings, labels):
        similarity = cosine_to_classes(embeddings, self.mean_fields)  # [B, C]
        num_classes = similarity.shape[1]
        membership = F.one_hot(labels, num_classes).to(similarity.dtype)  # [B, C]
        counts = membership.sum(dim=0)  # |B_c|
        present = counts > 0
        inverse_counts = torch.where(present, 1.0 / counts.clamp(min=1.0), torch.zeros_like(counts))
        # P_c: each sample's similarity to its own mean field.
        own_similarity = (similarity * membership).sum(dim=1)
        positive_sums = membership.t() @ torch.exp(-self.alpha * (own_similarity - self.base))
        positive = inverse_counts * positive_sums
        # Q[c, c'] = mean over samples of class c of exp(β (s_ic' − λ)).
        negative_terms = torch.exp(self.beta * (similarity - self.base))  # [B, C]
        q = inverse_counts[:, None] * (membership.t() @ negative_terms)
        off_diagonal = ~torch.eye(num_classes, dtype=torch.bool, device=similarity.device)
        classes_in_batch = present.sum()
        positive_loss = torch.log1p(positive[present]).sum() / (self.alpha * classes_in_batch)
        negative_loss = torch.log1p((q + q.t())[off_diagonal]).sum() / (2.0 * self.beta * classes_in_batch)
        return positive_loss + negative_loss


def pair_masks(labels):
    same = labels[:, None] == labels[None, :]
    not_self = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & not_self, ~same


class Contrastive(nn.Module):
    """Pair loss on Euclidean distances of normalised embeddings: [d − m⁺]₊ for positives, [m⁻ − d]₊ for
    negatives, each averaged over its non-zero terms (pytorch-metric-learning's AvgNonZeroReducer). O(B²)."""

    def __init__(self, pos_margin=0.02, neg_margin=0.3):
        super().__init__()
        self.pos_margin, self.neg_margin = pos_margin, neg_margin

    def forward(self, embeddings, labels):
        normalised = F.normalize(embeddings, dim=1)
        # sqrt(2 − 2 cos), clamped away from 0 so the gradient of the square root stays finite
        distance = (2.0 - 2.0 * normalised @ normalised.t()).clamp(min=1e-12).sqrt()
        positive_mask, negative_mask = pair_masks(labels)
        positive = F.relu(distance[positive_mask] - self.pos_margin)
        negative = F.relu(self.neg_margin - distance[negative_mask])
        return average_non_zero(positive) + average_non_zero(negative)


def average_non_zero(losses):
    active = losses > 0
    if not bool(active.any()):
        return losses.sum() * 0.0
    return losses[active].mean()


class MultiSimilarity(nn.Module):
    """Wang et al. 2019 with its pair miner (ε = 0.1): per anchor, (1/α) log(1 + Σ_P e^{−α(S−λ)}) +
    (1/β) log(1 + Σ_N e^{β(S−λ)}) over the mined positives P and negatives N; α = 2, β = 50, λ = 0.5."""

    def __init__(self, alpha=2.0, beta=50.0, base=0.5, epsilon=0.1):
        super().__init__()
        self.alpha, self.beta, self.base, self.epsilon = alpha, beta, base, epsilon

    def forward(self, embeddings, labels):
        normalised = F.normalize(embeddings, dim=1)
        similarity = normalised @ normalised.t()
        positive_mask, negative_mask = pair_masks(labels)
        big = torch.finfo(similarity.dtype).max
        with torch.no_grad():
            hardest_positive = similarity.masked_fill(~positive_mask, big).min(dim=1).values
            hardest_negative = similarity.masked_fill(~negative_mask, -big).max(dim=1).values
            mined_negative = negative_mask & (similarity + self.epsilon > hardest_positive[:, None])
            mined_positive = positive_mask & (similarity - self.epsilon < hardest_negative[:, None])
        positive_terms = torch.exp(-self.alpha * (similarity - self.base)) * mined_positive
        negative_terms = torch.exp(self.beta * (similarity - self.base)) * mined_negative
        per_anchor = torch.log1p(positive_terms.sum(dim=1)) / self.alpha + torch.log1p(
            negative_terms.sum(dim=1)
        ) / self.beta
        has_pairs = mined_positive.any(dim=1) | mined_negative.any(dim=1)
        if not bool(has_pairs.any()):
            return per_anchor.sum() * 0.0
        return per_anchor[has_pairs].mean()


class ProxyAnchor(nn.Module):
    """Kim et al. 2020: each proxy is the anchor. With s = cos(x, p), α = 32, δ = 0.1:
    (1/|P⁺|) Σ_{p∈P⁺} log(1 + Σ_{x∈X_p⁺} e^{−α(s−δ)}) + (1/C) Σ_p log(1 + Σ_{x∈X_p⁻} e^{α(s+δ)})."""

    def __init__(self, num_classes, dim, margin=0.1, alpha=32.0):
        super().__init__()
        self.proxies = nn.Parameter(torch.randn(num_classes, dim) * (2.0 / dim) ** 0.5)  # kaiming-normal scale
        self.margin, self.alpha = margin, alpha

    def forward(self, embeddings, labels):
        similarity = cosine_to_classes(embeddings, self.proxies)
        membership = F.one_hot(labels, similarity.shape[1]).bool()
        positive_sums = (torch.exp(-self.alpha * (similarity - self.margin)) * membership).sum(dim=0)
        negative_sums = (torch.exp(self.alpha * (similarity + self.margin)) * ~membership).sum(dim=0)
        with_positives = membership.any(dim=0)
        positive = torch.log1p(positive_sums[with_positives]).sum() / with_positives.sum()
        negative = torch.log1p(negative_sums).sum() / similarity.shape[1]
        return positive + negative


class ProxyNCA(nn.Module):
    """Movshovitz-Attias et al. 2017 as in pytorch-metric-learning: softmax over −scale·‖x̂ − p̂‖², scale 32."""

    def __init__(self, num_classes, dim, scale=32.0):
        super().__init__()
        self.proxies = nn.Parameter(torch.randn(num_classes, dim))
        self.scale = scale

    def forward(self, embeddings, labels):
        squared_distance = 2.0 - 2.0 * cosine_to_classes(embeddings, self.proxies)
        return F.cross_entropy(-self.scale * squared_distance, labels)


# name -> (constructor(num_classes, dim), has class parameters)
LOSSES = {
    "mf-contrastive": (MeanFieldContrastive, True),
    "mf-cwms": (MeanFieldClassWiseMultiSimilarity, True),
    "contrastive": (lambda num_classes, dim: Contrastive(), False),
    "multisimilarity": (lambda num_classes, dim: MultiSimilarity(), False),
    "proxyanchor": (ProxyAnchor, True),
    "proxynca": (ProxyNCA, True),
}
MEAN_FIELD_LOSSES = ("mf-contrastive", "mf-cwms")


def build_loss(name, num_classes, dim):
    constructor, _ = LOSSES[name]
    return constructor(num_classes, dim)
