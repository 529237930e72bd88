package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * module-info.java is the API boundary: every public type lives in an exported package, and
 * no public signature there mentions a type from a package that is not exported.
 */
class ApiBoundaryTest {

    private static final Path CLASSES = Path.of("target", "classes");

    /** The one non-exported package whose types are public (they bridge Weft's own packages). */
    private static final String INTERNAL = "dev.weft.internal";

    private static ModuleDescriptor descriptor() {
        return ModuleFinder.of(CLASSES).findAll().iterator().next().descriptor();
    }

    private static List<Class<?>> classes() throws IOException, ClassNotFoundException {
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(CLASSES)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = CLASSES.relativize(p).toString().replace('/', '.').replaceAll("\\.class$", "");
                if (!name.equals("module-info") && !name.endsWith("package-info")) {
                    out.add(Class.forName(name, false, ApiBoundaryTest.class.getClassLoader()));
                }
            }
        }
        return out;
    }

    @Test
    void theModuleIsDevWeftAndHasNoDependenciesBeyondJavaBaseAndAnOptionalJdkJfr() {
        ModuleDescriptor d = descriptor();
        assertEquals("dev.weft", d.name());
        Set<String> requires =
                d.requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertEquals(Set.of("java.base", "jdk.jfr"), requires);
        assertTrue(
                d.requires().stream()
                        .anyMatch(r -> r.name().equals("jdk.jfr")
                                && r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC)),
                "jdk.jfr must stay optional");
        assertEquals(
                Set.of(
                        "dev.weft",
                        "dev.weft.poll",
                        "dev.weft.time",
                        "dev.weft.channel",
                        "dev.weft.flow",
                        "dev.weft.io",
                        "dev.weft.diag",
                        "dev.weft.interop",
                        "dev.weft.retry"),
                d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
    }

    @Test
    void everyPublicTypeIsInAnExportedPackageAndEveryPublicSignatureUsesOnlyExportedTypes() throws Exception {
        Set<String> exported = descriptor().exports().stream()
                .map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toSet());
        Set<String> problems = new TreeSet<>();
        for (Class<?> c : classes()) {
            boolean visible = Modifier.isPublic(c.getModifiers())
                    && (c.getEnclosingClass() == null
                            || Modifier.isPublic(c.getEnclosingClass().getModifiers()));
            if (!visible) {
                continue;
            }
            if (c.getPackageName().equals(INTERNAL) || c.getPackageName().startsWith(INTERNAL + ".")) {
                continue; // the bridges between Weft's own packages: public, never exported
            }
            if (!exported.contains(c.getPackageName())) {
                problems.add("public type outside exported packages: " + c.getName());
            }
            for (Method m : c.getDeclaredMethods()) {
                if (!Modifier.isPublic(m.getModifiers()) && !Modifier.isProtected(m.getModifiers())) {
                    continue;
                }
                List<Class<?>> types = new ArrayList<>(List.of(m.getParameterTypes()));
                types.add(m.getReturnType());
                for (Class<?> t : types) {
                    while (t.isArray()) {
                        t = t.getComponentType();
                    }
                    if (!t.isPrimitive()
                            && !t.getPackageName().startsWith("java.")
                            && !exported.contains(t.getPackageName())) {
                        problems.add(c.getName() + "." + m.getName() + " exposes " + t.getName());
                    }
                    if (!t.isPrimitive()
                            && t.getPackageName().startsWith("dev.weft")
                            && !Modifier.isPublic(t.getModifiers())) {
                        problems.add(c.getName() + "." + m.getName() + " exposes non-public " + t.getName());
                    }
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    // The package layering is checked from the class files by weft-checks' LayeringTest.
}
