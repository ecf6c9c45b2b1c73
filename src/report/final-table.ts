/**
 * Final results (study/trial attributes `final_*`, src/api/dashboard.ts finalResultsOf) as tables,
 * shared by the static report and the dashboard: rows `final_<model>.<field>` (one per field, the
 * raw keys a new user of session 11 saw, e.g. `final_winner.test_acc`) become one table per
 * section with a row per model and a column per field; keys without a `.field` stay key/value lines.
 */
export interface FinalTable {
  readonly title: string;
  /** Field names in first-seen order (e.g. model, status, test_acc, params, ...). */
  readonly columns: readonly string[];
  /** One per `final_<name>` object: its name without `final_`, and its cells by column ('' when absent). */
  readonly rows: readonly { readonly name: string; readonly cells: readonly string[] }[];
  /** Keys that are not `<name>.<field>` (plain values), as they were. */
  readonly plain: readonly { readonly key: string; readonly value: string }[];
}

export function finalTables(sections: readonly { readonly title: string; readonly rows: readonly { readonly key: string; readonly value: string }[] }[]): FinalTable[] {
  return sections.map((sec) => {
    const columns: string[] = [];
    const byName = new Map<string, Map<string, string>>();
    const plain: { key: string; value: string }[] = [];
    for (const r of sec.rows) {
      const dot = r.key.indexOf('.');
      if (dot < 0) {
        plain.push(r);
        continue;
      }
      const name = r.key.slice(0, dot).replace(/^final_/, '');
      const field = r.key.slice(dot + 1);
      if (!columns.includes(field)) columns.push(field);
      if (!byName.has(name)) byName.set(name, new Map());
      byName.get(name)!.set(field, r.value);
    }
    return { title: sec.title, columns, rows: [...byName].map(([name, m]) => ({ name, cells: columns.map((c) => m.get(c) ?? '') })), plain };
  });
}
