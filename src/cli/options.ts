/**
 * Option parsers shared by the commands: each rejects a malformed value with a message that
 * names the option, through commander's own error path.
 */
import { InvalidArgumentError } from 'commander';

export function integerOption(name: string, min = 0): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${value}"`);
    return parsed;
  };
}

export function numberOption(name: string, min = -Infinity, max = Infinity): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got "${value}"`);
    }
    return parsed;
  };
}

/** Repeatable string option: `--stop a --stop b`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
