// Python's round() and torch.round: ties go to the even neighbour. MFGLib rounds positions this way; JS
// Math.round (ties up) would move the linear-quadratic game's uniform-policy exploitability by ~25 %.

export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}
