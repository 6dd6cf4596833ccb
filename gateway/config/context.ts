import type { YamlFiles } from './yaml.js';

/** What a plugin gets while the config is resolved (after validation): where files are, and where problems go. */
export interface ConfigContext {
  /** The config file as messages name it. */
  readonly file: string;
  /** The config file's folder: relative paths in the config are relative to it. */
  readonly dir: string;
  /** Where named device profiles live (`profiles_dir`, absolute). */
  readonly profilesDir: string;
  /** The other YAML files the config names, each read once. */
  readonly files: YamlFiles;
  /** Records a problem at a key of the config file (`devices[2].bus`). */
  problem(at: string, message: string): void;
}
