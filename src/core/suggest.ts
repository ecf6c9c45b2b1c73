/**
 * "Did you mean" for a mistyped name (a CLI flag, command or enumerated value): the candidate at
 * the smallest optimal-string-alignment distance (Levenshtein plus adjacent transpositions,
 * Damerau 1964), if it is close enough to be a typo: at most 1 edit for names of up to 4
 * characters, 2 up to 8, 3 beyond; or the only candidate that starts with `word` (an abbreviation);
 * or the only one that holds `word` as a contraction (same first letter, letters left out in order).
 * Case is ignored. Ties go to the candidate listed first.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) (best = c), (bestD = d);
  }
  const limit = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  if (best !== undefined && bestD <= limit) return best;
  const prefixed = w.length >= 2 ? candidates.filter((c) => c.toLowerCase().startsWith(w)) : [];
  if (prefixed.length === 1) return prefixed[0];
  // A contraction (letters left out, order kept: `jacov` for jacob_cov, `gradnorm` for grad_norm):
  // the only candidate that holds the word as a subsequence, starts with its letter and is at most
  // twice as long; not when candidates share it as a prefix (that ambiguity stands).
  const contracted = w.length >= 4 && prefixed.length === 0 ? candidates.filter((c) => c[0]?.toLowerCase() === w[0] && c.length <= 2 * w.length && isSubsequence(w, c.toLowerCase())) : [];
  return contracted.length === 1 ? contracted[0] : undefined;
}

/** Whether `a`'s characters occur in `b` in order. */
function isSubsequence(a: string, b: string): boolean {
  let i = 0;
  for (let j = 0; j < b.length && i < a.length; j++) if (a[i] === b[j]) i++;
  return i === a.length;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // d[i][j] = distance between a[0..i) and b[0..j); three rows suffice for the transposition.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/** ` (did you mean X?)`-style suffix, or '' when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[], format: (s: string) => string = (s) => s): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `; did you mean ${format(c)}?`;
}

/**
 * Other names users give an enumerated value: `int8` for `--quantize` (every mode there is int8;
 * `static` is the common meaning, post-training int8), `max` for `maximize`. Keys are compared
 * lower-cased; `note` says why the word maps there and is printed with the suggestion.
 */
export type Synonyms = Readonly<Record<string, { readonly value: string; readonly note?: string }>>;

/**
 * The value of `candidates` meant by `word`: a synonym (with its note) first, else the closest
 * spelling (closest). Undefined when nothing fits.
 */
export function suggestValue(word: string, candidates: readonly string[], synonyms?: Synonyms): { value: string; note?: string } | undefined {
  const s = synonyms?.[word.toLowerCase()];
  if (s !== undefined && candidates.includes(s.value)) return s;
  const c = closest(word, candidates);
  return c === undefined ? undefined : { value: c };
}

/**
 * `; did you mean X?` for an enumerated value, or `; did you mean X (NOTE)?` for a synonym
 * (`--quantize int8`: `did you mean static (int8 weights and activations, calibrated: the usual
 * int8 quantization)?`); '' when nothing fits. The one suffix of every enum check (CLI choices,
 * config fields, architecture fields, API query parameters).
 */
export function didYouMeanValue(word: string, candidates: readonly string[], synonyms?: Synonyms, format: (s: string) => string = (s) => s): string {
  const s = suggestValue(word, candidates, synonyms);
  return s === undefined ? '' : `; did you mean ${format(s.value)}${s.note ? ` (${s.note})` : ''}?`;
}
