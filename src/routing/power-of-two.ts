/**
 * Weighted power-of-two-choices: draw two candidates independently by weight and keep the better one. With equal
 * scores the first drawn wins, so traffic follows the weights exactly; a worse candidate still gets the share of
 * draws where it is drawn twice (weight²), which keeps its picture fresh. Candidates lists are short (keys, targets).
 */

function drawByWeight<T>(items: readonly T[], weight: (item: T) => number, random: () => number): T {
  let total = 0;
  for (const item of items) total += weight(item);
  // All weights zero: uniform rather than nothing.
  if (!(total > 0)) return items[Math.min(items.length - 1, Math.floor(random() * items.length))] as T;
  let r = random() * total;
  for (const item of items) {
    r -= weight(item);
    if (r < 0) return item;
  }
  return items[items.length - 1] as T;
}

export function powerOfTwoChoices<T>(
  items: readonly T[],
  weight: (item: T) => number,
  better: (a: T, b: T) => boolean,
  random: () => number,
): T | null {
  if (items.length === 0) return null;
  if (items.length === 1) return items[0] as T;
  const first = drawByWeight(items, weight, random);
  const second = drawByWeight(items, weight, random);
  return second !== first && better(second, first) ? second : first;
}
