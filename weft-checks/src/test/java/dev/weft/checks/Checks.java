package dev.weft.checks;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the checks find the repository: Surefire runs them in weft-checks, one level below its root. */
final class Checks {

    private Checks() {}

    /** The repository's root directory (the one holding README.md and the module directories). */
    static final Path ROOT = findRoot();

    private static Path findRoot() {
        Path root = Path.of("").toAbsolutePath().getParent();
        if (root == null || !Files.exists(root.resolve("README.md")) || !Files.isDirectory(root.resolve("weft-core"))) {
            throw new IllegalStateException(
                    "weft-checks' tests must run with weft-checks as the working directory; ran in "
                            + Path.of("").toAbsolutePath());
        }
        return root;
    }
}
