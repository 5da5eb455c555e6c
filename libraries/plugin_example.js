// @ts-check
/**
 * Example task plugin, the counterpart of the original's `libplugin_example.so`. Copy it to start your
 * own: every .js/.cjs/.mjs file in the library directory (`-l`, default ./libraries) is a plugin named
 * after its file, and its tasks register as `<plugin>::<task>`.
 *
 * A plugin exports one function that receives the plugin API ({ syncTask, asyncTask,
 * InvalidArgumentsError }); see `PluginApi` in src/plugins/load-plugins.ts for the types.
 *
 * @param {import('../src/plugins/load-plugins').PluginApi} api
 */
module.exports = function pluginExample(api) {
  // Product of int32 arguments (no arguments: 1).
  api.syncTask(function multiply(args) {
    let product = 1n;
    args.forEach((arg, i) => {
      if (arg.kind !== 'int32') throw new api.InvalidArgumentsError(`Expected Int32 for multiply, got ${arg.kind} at args[${i}]`);
      product *= BigInt(arg.value);
    });
    return product.toString();
  }, { description: 'Product of int32 arguments' });

  // Waits 500 ms, then echoes its string arguments.
  api.asyncTask(async function delayed_echo(args, ctx) {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 500);
      ctx.signal.addEventListener('abort', () => { clearTimeout(timer); reject(ctx.signal.reason); }, { once: true });
    });
    const words = args.filter((arg) => arg.kind === 'string').map((arg) => arg.value);
    return `Echo after delay: ${words.length > 0 ? words.join(' ') : 'no message'}`;
  }, { description: 'Waits 500 ms, then echoes its string arguments' });
};
