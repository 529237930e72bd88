package dev.weft.checks;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every published module's public API is checked in as text, {@code <module>/api/<module>.api},
 * so that an API change is always a deliberate diff in review (as kotlinx's
 * binary-compatibility validator does). This test dumps each module's API from its compiled
 * classes ({@link ApiDump}) and fails if the dump differs from the checked-in file; with
 * {@code -Dweft.api.update=true} it writes the file instead. See CONTRIBUTING.md.
 */
class ApiDumpTest {

    /** The command that regenerates the dumps, printed with every failure. */
    static final String UPDATE = "./weft mvn -pl weft-checks -am verify -Dtest=ApiDumpTest"
            + " -Dsurefire.failIfNoSpecifiedTests=false -Dweft.api.update=true";

    static Stream<Arguments> publishedModules() {
        return Stream.of(
                Arguments.of("weft-core", dev.weft.Weft.class),
                Arguments.of("weft-test", dev.weft.test.VirtualTime.class),
                Arguments.of("weft-slf4j", dev.weft.slf4j.MdcBridge.class),
                Arguments.of("weft-console", dev.weft.console.Console.class));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("publishedModules")
    void theCheckedInApiDumpIsCurrent(String module, Class<?> anchor) throws Exception {
        String current = ApiDump.of(anchor);
        Path file = Checks.ROOT.resolve(module).resolve("api").resolve(module + ".api");
        if (Boolean.getBoolean("weft.api.update")) {
            Files.createDirectories(file.getParent());
            Files.writeString(file, current, StandardCharsets.UTF_8);
            System.out.println("weft.api.update: wrote " + Checks.ROOT.relativize(file));
            return;
        }
        if (!Files.exists(file)) {
            fail(module + " has no API dump at " + Checks.ROOT.relativize(file) + ". Create it with\n  " + UPDATE);
        }
        String checkedIn = Files.readString(file, StandardCharsets.UTF_8);
        if (!checkedIn.equals(current)) {
            List<String> diff =
                    LineDiff.diff(checkedIn.lines().toList(), current.lines().toList());
            fail("The public API of " + module + " differs from " + Checks.ROOT.relativize(file)
                    + " ('-' checked in, '+' now):\n" + String.join("\n", diff)
                    + "\n\nIf the change is deliberate, regenerate the dumps and commit them with the change:\n  "
                    + UPDATE);
        }
        assertTrue(current.lines().count() > 1, "an empty dump means the module's classes were not found");
    }
}
