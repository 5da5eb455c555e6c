/** Arguments: the ArgValue union, Any ⇄ ArgValue, canonical JSON and float text. */
export * from './arg-value';
export * from './canonical-json';
export * from './decode-arg';
export * from './encode-arg';
export * from './format-float';
