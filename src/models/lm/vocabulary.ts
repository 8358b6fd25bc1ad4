// The character-level vocabulary of the arithmetic language models, read from the task's spec file
// (models/arithmetic-task/spec.json, shared with training/arithmetic_task.py). One character is one token;
// the special tokens (<pad>, <bos>, <eos>) never appear in text.
import { readFileSync } from 'node:fs';
import { InvalidInputError } from '../../errors.js';

export interface VocabularySpec {
  name: string;
  tokens: string[];
  special: { pad: string; bos: string; eos: string };
  context_length: number;
  /**
   * How POST /v1/chat/completions turns the last user message into the model's prompt: `{content}` is the
   * message's text. Absent: the model takes no chat.
   */
  chat_template?: string;
  /** Tasks with generated problems: bucket ranges of md5('<a><op><b>') mod 100 per split. */
  split?: Record<'train' | 'holdout' | 'test', [number, number]>;
}

export class Vocabulary {
  readonly bos: number;
  readonly eos: number;
  readonly contextLength: number;
  /** Special tokens that are not <eos>: never generated. */
  readonly suppressed: number[];
  private readonly idOf = new Map<string, number>();
  /** Ids of <pad>, <bos>, <eos>: tokens without text. */
  private readonly specialIds: Set<number>;

  constructor(readonly spec: VocabularySpec) {
    for (const [id, token] of spec.tokens.entries()) this.idOf.set(token, id);
    this.specialIds = new Set(Object.values(spec.special).map((token) => this.special(token)));
    this.bos = this.special(spec.special.bos);
    this.eos = this.special(spec.special.eos);
    this.contextLength = spec.context_length;
    this.suppressed = [this.special(spec.special.pad), this.bos];
  }

  /** Token ids run from 0 to size − 1. */
  get size(): number {
    return this.spec.tokens.length;
  }

  static read(path: string): Vocabulary {
    return new Vocabulary(JSON.parse(readFileSync(path, 'utf8')) as VocabularySpec);
  }

  /** Token ids of `text`; a character outside the vocabulary is a 400 naming `path`. */
  encode(text: string, path: string): number[] {
    const ids: number[] = [];
    for (const char of text) {
      const id = this.idOf.get(char);
      if (id === undefined || this.isSpecial(id)) {
        throw new InvalidInputError(`${JSON.stringify(char)} is not in the model's vocabulary`, [
          { path, message: `character ${JSON.stringify(char)} is not one of ${this.textCharacters()}` },
        ]);
      }
      ids.push(id);
    }
    return ids;
  }

  /** The text of one token; special tokens have none. */
  text(id: number): string {
    return this.isSpecial(id) ? '' : (this.spec.tokens[id] ?? '');
  }

  private isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  private textCharacters(): string {
    return this.spec.tokens.filter((_, id) => !this.isSpecial(id)).join('');
  }

  private special(token: string): number {
    const id = this.idOf.get(token);
    if (id === undefined) throw new Error(`vocabulary ${this.spec.name} lacks ${token}`);
    return id;
  }
}
