import type { Command } from "commander";
import { registerDoctor } from "./doctor.ts";
import { registerEntities } from "./entities.ts";
import { registerKeys } from "./keys.ts";
import { registerLaunch } from "./launch.ts";
import { registerSetup } from "./setup.ts";
import { registerSpend } from "./spend.ts";
import { registerStart } from "./start.ts";
import { registerStatusline } from "./statusline.ts";

/**
 * Every `tollgate` command: one module per command, each adding itself with `register<Name>(program)`. Keep their
 * top-level imports light (`start` imports the gateway inside its action).
 */
export function registerCommands(program: Command): void {
  registerStart(program);
  registerLaunch(program);
  registerSetup(program);
  registerStatusline(program);
  registerDoctor(program);
  registerKeys(program);
  registerEntities(program);
  registerSpend(program);
}
