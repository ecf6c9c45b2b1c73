/** Commands that need the trainer (train, main); registered here so main.ts stays about studies. */
export interface ExtraCommand {
  readonly help: string;
  readonly run: (argv: string[]) => Promise<number>;
}

export const COMMANDS_EXTRA: Record<string, ExtraCommand> = {};
