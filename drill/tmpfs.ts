/**
 * A size-limited tmpfs for the disk-full drill, and a file that fills it. Mounting needs root
 * (or CAP_SYS_ADMIN): where it is refused, `mountTmpfs` says why and the drill is skipped.
 */
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Tmpfs {
  dir: string;
  /** Writes a file until the filesystem refuses (ENOSPC), then gives `leaveBytes` back; returns the file's size. */
  fill(leaveBytes?: number): number;
  /** Removes the filler. */
  free(): void;
  unmount(): void;
}

const CHUNK = Buffer.alloc(16 * 1024);

/** A tmpfs of `kib` KiB on a fresh directory, or the reason mounting is not allowed here. */
export function mountTmpfs(kib: number): Tmpfs | { refused: string } {
  const dir = mkdtempSync(join(tmpdir(), "zus-ground-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${kib}k,mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    rmdirSync(dir);
    const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim();
    return { refused: `cannot mount a tmpfs here (${stderr || String(err)}); the disk-full drill needs root` };
  }
  const filler = join(dir, "filler");
  return {
    dir,
    fill(leaveBytes = 0) {
      const fd = openSync(filler, "a");
      let written = 0;
      try {
        // Large writes first, then page-sized ones for the room a large one no longer fits in.
        for (const size of [CHUNK.length, 4096]) {
          try {
            for (;;) written += writeSync(fd, CHUNK, 0, size);
          } catch (err) {
            if ((err as { code?: unknown }).code !== "ENOSPC") throw err;
          }
        }
        if (leaveBytes > 0) ftruncateSync(fd, (written = Math.max(0, written - leaveBytes)));
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free: () => rmSync(filler, { force: true }),
    unmount() {
      try {
        execFileSync("umount", [dir], { stdio: "pipe" });
      } catch {
        // Still busy (a process of the drill not yet gone): detach it now, freed once unused.
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      }
      rmdirSync(dir);
    },
  };
}
