/** Human names for flattened parameter paths. */
const NB201_EDGE = ['1←0', '2←0', '2←1', '3←0', '3←1', '3←2'];

export function paramLabel(name: string, family: string | null): string {
  const m = /^ops\[(\d)\]$/.exec(name);
  if (family === 'nb201' && m) return `edge ${NB201_EDGE[Number(m[1])] ?? m[1]}`;
  return name;
}
