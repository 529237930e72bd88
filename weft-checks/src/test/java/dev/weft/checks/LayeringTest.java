package dev.weft.checks;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.ClassEntry;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package graph of weft-core, read from its class files (every class a class file names in
 * its constant pool, descriptors and generic signatures: what the code uses, not only what it
 * imports), equals the allowed edges listed once, in docs/architecture.md, and every allowed
 * edge points down the layering.
 */
class LayeringTest {

    /**
     * The layers, lowest first. A package may use only packages of lower layers;
     * {@code dev.weft.internal}, not exported, sits below them all and uses none of them;
     * {@code dev.weft.internal.handoff}, not exported either, builds on {@code dev.weft.poll}
     * (a claim is a waker) for {@code dev.weft} and {@code dev.weft.channel}.
     */
    static final List<List<String>> LAYERS = List.of(
            List.of("dev.weft.internal"),
            List.of("dev.weft.poll"),
            List.of("dev.weft.internal.handoff", "dev.weft.time"),
            List.of("dev.weft"),
            List.of("dev.weft.channel"),
            List.of("dev.weft.flow"),
            List.of("dev.weft.io", "dev.weft.diag", "dev.weft.interop", "dev.weft.retry"));

    /** Marks the block of docs/architecture.md that lists the allowed edges. */
    static final String MARKER = "<!-- allowed package edges: checked by weft-checks' LayeringTest -->";

    private static final Pattern DESCRIPTOR_CLASS = Pattern.compile("L([\\w/$]+)[;<]");

    @Test
    void thePackageGraphOfWeftCoreIsExactlyTheDocumentedOneAndPointsDown() throws Exception {
        Map<String, Set<String>> actual = weftCoreGraph();
        Map<String, Set<String>> allowed = documentedEdges();
        List<String> problems = new ArrayList<>();
        allowed.forEach((from, tos) -> {
            for (String to : tos) {
                if (layer(from) <= layer(to)) {
                    problems.add("documented edge " + from + " -> " + to + " does not point down the layers " + LAYERS);
                }
                if (!actual.getOrDefault(from, Set.of()).contains(to)) {
                    problems.add("documented edge " + from + " -> " + to
                            + " no longer exists: delete it from docs/architecture.md");
                }
            }
        });
        actual.forEach((from, tos) -> {
            for (String to : tos) {
                if (!allowed.getOrDefault(from, Set.of()).contains(to)) {
                    problems.add("new edge " + from + " -> " + to + ": "
                            + (layer(from) <= layer(to)
                                    ? "it points up or sideways in the layering, so move the code instead"
                                    : "if it is meant, add it to the list in docs/architecture.md"));
                }
            }
        });
        assertTrue(
                problems.isEmpty(),
                "weft-core's package graph (read from its classes) and the edges that "
                        + "docs/architecture.md allows differ:\n  " + String.join("\n  ", problems)
                        + "\nThe graph now is:\n  " + format(actual));
    }

    @Test
    void theLayersNameEveryPackageOfWeftCore() throws Exception {
        Map<String, Set<String>> actual = weftCoreGraph();
        Set<String> packages = new TreeSet<>(actual.keySet());
        actual.values().forEach(packages::addAll);
        for (String p : packages) {
            assertTrue(layer(p) >= 0, p + " is in no layer of LayeringTest.LAYERS");
        }
    }

    static int layer(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) {
            if (LAYERS.get(i).contains(pkg)) {
                return i;
            }
        }
        return -1;
    }

    /** Lines {@code from -> to, to, ...} in the fenced block after {@link #MARKER}. */
    static Map<String, Set<String>> documentedEdges() throws IOException {
        List<String> lines = Files.readAllLines(Checks.ROOT.resolve("docs/architecture.md"));
        int at = lines.indexOf(MARKER);
        assertTrue(at >= 0, "docs/architecture.md lost the line " + MARKER);
        Map<String, Set<String>> edges = new TreeMap<>();
        int i = at + 1;
        assertTrue(lines.get(i).startsWith("```"), "a fenced block must follow " + MARKER);
        for (i++; !lines.get(i).startsWith("```"); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] sides = line.split("->", -1);
            assertTrue(
                    sides.length == 2,
                    "docs/architecture.md:" + (i + 1) + ": expected 'package -> package, ...', got " + line);
            Set<String> tos = edges.computeIfAbsent(sides[0].strip(), k -> new TreeSet<>());
            for (String to : sides[1].split(",", -1)) {
                if (!to.isBlank() && !to.strip().equals("(nothing)")) {
                    tos.add(to.strip());
                }
            }
        }
        edges.values().removeIf(Set::isEmpty);
        return edges;
    }

    /** Package to the other Weft packages its classes use. */
    static Map<String, Set<String>> packageGraph(Path classes) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                ClassModel model = ClassFile.of().parse(f);
                String self = model.thisClass().asInternalName();
                if (self.equals("module-info")) {
                    continue;
                }
                String from = packageOf(self);
                for (String used : usedClasses(model)) {
                    String to = packageOf(used);
                    if (to.startsWith("dev.weft") && !to.equals(from)) {
                        graph.computeIfAbsent(from, k -> new TreeSet<>()).add(to);
                    }
                }
            }
        }
        return graph;
    }

    /**
     * Every class named by the constant pool: class entries, and the descriptors and generic
     * signatures (UTF-8 entries) of fields, methods, member references and lambdas.
     */
    static Set<String> usedClasses(ClassModel model) {
        Set<String> used = new TreeSet<>();
        for (PoolEntry e : model.constantPool()) {
            if (e instanceof ClassEntry c) {
                String name = c.asInternalName();
                Matcher m = DESCRIPTOR_CLASS.matcher(name);
                if (name.startsWith("[")) {
                    while (m.find()) {
                        used.add(m.group(1));
                    }
                } else {
                    used.add(name);
                }
            } else if (e instanceof Utf8Entry u) {
                Matcher m = DESCRIPTOR_CLASS.matcher(u.stringValue());
                while (m.find()) {
                    used.add(m.group(1));
                }
            }
        }
        return used;
    }

    private static String packageOf(String internalName) {
        int slash = internalName.lastIndexOf('/');
        return slash < 0 ? "" : internalName.substring(0, slash).replace('/', '.');
    }

    /** The package graph of weft-core's classes: its target/classes directory, or its jar. */
    static Map<String, Set<String>> weftCoreGraph() throws Exception {
        Path location = Path.of(dev.weft.Weft.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        if (Files.isDirectory(location)) {
            return packageGraph(location);
        }
        try (FileSystem jar = FileSystems.newFileSystem(URI.create("jar:" + location.toUri()), Map.of())) {
            return packageGraph(jar.getPath("/"));
        }
    }

    private static String format(Map<String, Set<String>> graph) {
        List<String> lines = new ArrayList<>();
        graph.forEach((from, tos) -> lines.add(from + " -> " + String.join(", ", tos)));
        return String.join("\n  ", lines);
    }
}
