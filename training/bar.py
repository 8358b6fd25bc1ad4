"""BAR (Bennett 1976; the controlled-Crooks minimum-variance estimate of FEAT): log Z_1/Z_0 from forward log
weights (paths from state 0) and reverse log weights (paths from state 1), by bisection on its fixed point."""

import torch


def bar_log_ratio(forward, reverse):
    low, high = -1e3, 1e3
    for _ in range(200):
        mid = (low + high) / 2
        balance = torch.logsumexp(torch.nn.functional.logsigmoid(forward - mid), 0) - torch.logsumexp(
            torch.nn.functional.logsigmoid(reverse + mid), 0)
        if balance > 0:
            low = mid
        else:
            high = mid
    return (low + high) / 2
