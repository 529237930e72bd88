package dev.weft.checks;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * Every Java snippet of README.md, docs/*.md and the javadoc ({@code {@snippet lang=java : ...}})
 * of the published modules compiles against the real API.
 *
 * <p>A snippet is split into top-level units: imports; type declarations, which become
 * top-level types of a package per page (so one snippet may use a type another on the same
 * page declared); methods and {@code static} fields, which become members of a class per
 * snippet; and statements, which become the body of an instance method of that class that
 * throws {@code Exception}. That class extends {@link DocStubs}, which declares the names that
 * stand for the reader's own code ({@code fetch}, {@code ask}, ...). Common imports (the JDK's
 * and every Weft package) are added; a snippet's own imports take precedence.
 *
 * <p>A line {@code ...}, or {@code { ... }}, stands for elided code. A snippet fenced as
 * {@code ```java fragment} is deliberately partial and is not compiled; keep those few.
 */
class DocSnippetsTest {

    /** The published modules whose javadoc snippets are compiled. */
    static final List<String> JAVADOC_MODULES = List.of("weft-core", "weft-test", "weft-slf4j", "weft-console");

    /** A snippet: where it is, its first code line, its code, and whether it is a marked fragment. */
    record Snippet(String origin, int line, String code, boolean fragment) {
        /** The package its units compile in: one per page or source file. */
        String packageName() {
            return "snippets." + origin.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
        }

        /** The DocStubs class its snippet class extends: {@code DocStubs.ForFlowsMd} for docs/flows.md, if it exists. */
        String stubs() {
            String file = origin.substring(origin.lastIndexOf('/') + 1);
            String[] parts = file.split("\\.", -1);
            String key = "For" + Character.toUpperCase(parts[0].charAt(0)) + parts[0].substring(1)
                    + Character.toUpperCase(parts[1].charAt(0)) + parts[1].substring(1);
            for (Class<?> c : DocStubs.class.getDeclaredClasses()) {
                if (c.getSimpleName().equals(key)) {
                    return "dev.weft.checks.DocStubs." + key;
                }
            }
            return "dev.weft.checks.DocStubs";
        }
    }

    @Test
    void everyJavaSnippetInTheReadmeTheDocsAndTheJavadocCompiles() throws IOException {
        List<Snippet> snippets = new ArrayList<>();
        snippets.addAll(markdownSnippets(Checks.ROOT.resolve("README.md")));
        try (Stream<Path> docs = Files.list(Checks.ROOT.resolve("docs"))) {
            for (Path doc :
                    docs.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
                snippets.addAll(markdownSnippets(doc));
            }
        }
        for (String module : JAVADOC_MODULES) {
            try (Stream<Path> sources = Files.walk(Checks.ROOT.resolve(module).resolve("src/main/java"))) {
                for (Path source : sources.filter(p -> p.toString().endsWith(".java"))
                        .sorted()
                        .toList()) {
                    snippets.addAll(javadocSnippets(source));
                }
            }
        }
        long fromMarkdown =
                snippets.stream().filter(s -> s.origin().endsWith(".md")).count();
        long fromJavadoc = snippets.size() - fromMarkdown;
        assertTrue(
                fromMarkdown >= 40 && fromJavadoc >= 30,
                "found only " + fromMarkdown + " markdown and " + fromJavadoc
                        + " javadoc snippets: is the extraction broken?");

        List<String> fragments = snippets.stream()
                .filter(Snippet::fragment)
                .map(s -> s.origin() + ":" + s.line())
                .toList();
        System.out.println("DocSnippetsTest: compiling " + (snippets.size() - fragments.size()) + " snippets ("
                + fromMarkdown + " in markdown, " + fromJavadoc + " in javadoc); marked fragments, not compiled: "
                + (fragments.isEmpty() ? "none" : fragments));

        List<String> errors = compile(snippets.stream()
                .filter(s -> !s.fragment())
                .map(DocSnippetsTest::source)
                .toList());
        assertTrue(
                errors.isEmpty(),
                errors.size() + " snippet error(s); each names the page or source file and line:\n"
                        + String.join("\n", errors));
    }

    // ---- extraction -------------------------------------------------------------------------------

    private static final Pattern FENCE = Pattern.compile("^```java(?:\\s+(.*))?$");

    static List<Snippet> markdownSnippets(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String origin = Checks.ROOT.relativize(file).toString();
        List<Snippet> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = FENCE.matcher(lines.get(i).strip());
            if (!m.matches()) {
                continue;
            }
            boolean fragment = m.group(1) != null && m.group(1).contains("fragment");
            int start = i + 1;
            int end = start;
            while (end < lines.size() && !lines.get(end).strip().equals("```")) {
                end++;
            }
            out.add(new Snippet(origin, start + 1, String.join("\n", lines.subList(start, end)), fragment));
            i = end;
        }
        return out;
    }

    private static final Pattern JAVADOC_SNIPPET = Pattern.compile("\\{@snippet([^:\\n]*):[ \\t]*\\n");

    static List<Snippet> javadocSnippets(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        String origin = Checks.ROOT.relativize(file).toString();
        List<Snippet> out = new ArrayList<>();
        Matcher m = JAVADOC_SNIPPET.matcher(text);
        while (m.find()) {
            String attributes = m.group(1);
            if (attributes.contains("lang=") && !attributes.contains("lang=java")) {
                continue;
            }
            int depth = 1;
            int j = m.end();
            while (depth > 0) {
                char c = text.charAt(j++);
                depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            }
            String body = text.substring(m.end(), j - 1);
            List<String> lines = new ArrayList<>();
            for (String line : body.split("\n", -1)) {
                lines.add(line.replaceFirst("^\\s*\\* ?", ""));
            }
            while (!lines.isEmpty() && lines.getLast().isBlank()) {
                lines.removeLast();
            }
            int line = (int) text.substring(0, m.end())
                            .chars()
                            .filter(c -> c == '\n')
                            .count()
                    + 1;
            out.add(new Snippet(origin, line, String.join("\n", lines), false));
        }
        return out;
    }

    // ---- turning a snippet into a compilation unit ------------------------------------------------

    /** The imports every snippet gets. Single-type imports settle the names two packages share. */
    static final List<String> PRELUDE = List.of(
            "java.io.*",
            "java.net.*",
            "java.net.http.*",
            "java.net.http.HttpResponse.BodyHandlers",
            "java.nio.channels.*",
            "java.nio.file.*",
            "java.time.*",
            "java.util.*",
            "java.util.concurrent.*",
            "java.util.concurrent.Flow.Publisher",
            "java.util.function.*",
            "java.util.stream.*",
            "java.awt.image.BufferedImage",
            "dev.weft.*",
            "dev.weft.channel.*",
            "dev.weft.flow.*",
            "dev.weft.time.*",
            "dev.weft.poll.*",
            "dev.weft.io.*",
            "dev.weft.diag.*",
            "dev.weft.interop.*",
            "dev.weft.retry.*",
            "dev.weft.test.*",
            "dev.weft.console.*",
            "dev.weft.slf4j.*",
            "dev.weft.channel.Channel",
            "dev.weft.flow.Flow",
            "dev.weft.time.Clock",
            "dev.weft.time.Timer",
            "dev.weft.console.Console",
            "org.junit.jupiter.api.Test",
            "org.junit.jupiter.api.extension.ExtendWith",
            "org.slf4j.MDC",
            "dev.weft.checks.DocStubs.*",
            "static org.junit.jupiter.api.Assertions.*",
            "static java.nio.charset.StandardCharsets.UTF_8",
            "static java.nio.file.StandardOpenOption.*",
            "static dev.weft.checks.DocStubs.*");

    /** A generated compilation unit that remembers which snippet line each of its lines came from. */
    static final class SnippetSource extends SimpleJavaFileObject {
        final Snippet snippet;
        final String code;
        final List<Integer> origins; // per generated line (0-based): the snippet's line, or -1

        SnippetSource(Snippet snippet, String className, String code, List<Integer> origins) {
            super(
                    URI.create("string:///" + snippet.packageName().replace('.', '/') + "/" + className + ".java"),
                    Kind.SOURCE);
            this.snippet = snippet;
            this.code = code;
            this.origins = origins;
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return code;
        }

        /** The page or source line of a generated line (1-based), or the snippet's first line. */
        int originLine(long generatedLine) {
            int i = (int) generatedLine - 1;
            return i >= 0 && i < origins.size() && origins.get(i) >= 0 ? origins.get(i) : snippet.line();
        }
    }

    enum UnitKind {
        IMPORT,
        TYPE,
        MEMBER,
        STATEMENT
    }

    /** A top-level unit of a snippet, and its first line within the snippet (0-based). */
    record Unit(UnitKind kind, String text, int line) {}

    private static final String MODIFIERS =
            "(?:(?:public|protected|private|static|final|abstract|sealed|non-sealed|strictfp|synchronized|default)\\s+)*";
    private static final Pattern TYPE =
            Pattern.compile("^" + MODIFIERS + "(?:class|interface|enum|record|@interface)\\s+\\w+.*", Pattern.DOTALL);
    private static final Pattern METHOD = Pattern.compile(
            "^" + MODIFIERS
                    + "(?:<[^>]+>\\s+)?[\\w.$]+(?:<[^=;{}()]*>)?(?:\\[\\])*\\s+\\w+\\s*\\([^;{}=]*\\)\\s*(?:throws\\s+[\\w.,\\s]+)?\\{.*",
            Pattern.DOTALL);
    private static final Pattern STATIC_FIELD =
            Pattern.compile("^" + MODIFIERS.replace(")*", ")*?") + "static\\s.*", Pattern.DOTALL);
    private static final Set<String> STATEMENT_KEYWORDS = Set.of("return", "new", "throw", "else", "yield", "var");

    static SnippetSource source(Snippet snippet) {
        String className = "Snippet_" + snippet.line();
        List<Unit> units = units(elide(snippet.code()));
        Set<String> ownImports = new LinkedHashSet<>();
        for (Unit u : units) {
            if (u.kind() == UnitKind.IMPORT) {
                ownImports.add(u.text().strip().replaceAll("^import\\s+|\\s*;$", ""));
            }
        }
        Set<String> ownSimpleNames = new LinkedHashSet<>();
        ownImports.forEach(i -> ownSimpleNames.add(i.substring(i.lastIndexOf('.') + 1)));

        List<String> out = new ArrayList<>();
        List<Integer> origins = new ArrayList<>();
        emit(out, origins, "package " + snippet.packageName() + ";", -1);
        for (String i : PRELUDE) {
            String simple = i.substring(i.lastIndexOf('.') + 1);
            if (!i.startsWith("static ") && !simple.equals("*") && ownSimpleNames.contains(simple)) {
                continue; // the snippet's own import of that name wins
            }
            emit(out, origins, "import " + i + ";", -1);
        }
        units.stream().filter(u -> u.kind() == UnitKind.IMPORT).forEach(u -> emitUnit(out, origins, u, snippet));
        emit(out, origins, "@SuppressWarnings(\"all\") class " + className + " extends " + snippet.stubs() + " {", -1);
        units.stream().filter(u -> u.kind() == UnitKind.MEMBER).forEach(u -> emitUnit(out, origins, u, snippet));
        emit(out, origins, "Object snippet() throws Exception { if (true) {", -1);
        units.stream().filter(u -> u.kind() == UnitKind.STATEMENT).forEach(u -> emitUnit(out, origins, u, snippet));
        emit(out, origins, "} return null; } }", -1);
        units.stream().filter(u -> u.kind() == UnitKind.TYPE).forEach(u -> emitUnit(out, origins, u, snippet));
        return new SnippetSource(snippet, className, String.join("\n", out) + "\n", origins);
    }

    private static void emit(List<String> out, List<Integer> origins, String line, int origin) {
        out.add(line);
        origins.add(origin);
    }

    private static void emitUnit(List<String> out, List<Integer> origins, Unit u, Snippet snippet) {
        String text = u.kind() == UnitKind.TYPE
                ? u.text().replaceFirst("^(\\s*(?:@[\\w.]+(?:\\([^)]*\\))?\\s*)*)public\\s+", "$1")
                : u.text();
        String[] lines = text.split("\n", -1);
        for (int k = 0; k < lines.length; k++) {
            emit(out, origins, lines[k], snippet.line() + u.line() + k);
        }
    }

    /** {@code ...} alone on a line, or as {@code { ... }}, stands for elided code. */
    static String elide(String code) {
        String s = code.replaceAll("((?:class|interface|record|enum)\\s+\\w+[^{;]*\\{)\\s*\\.\\.\\.\\s*}", "$1 }");
        s = s.replaceAll("(?m)^(\\s*)\\.\\.\\.\\s*$", "$1throw new UnsupportedOperationException(\"elided\");");
        return s.replace("{ ... }", "{ throw new UnsupportedOperationException(\"elided\"); }");
    }

    /** Splits code into top-level units: each ends with a ';' or a '}' at depth 0 that no 'else', 'catch', ... continues. */
    static List<Unit> units(String code) {
        List<Unit> units = new ArrayList<>();
        int depth = 0;
        int start = 0;
        int i = 0;
        int n = code.length();
        while (i < n) {
            char c = code.charAt(i);
            if (code.startsWith("//", i)) {
                i = lineEnd(code, i);
                continue;
            }
            if (code.startsWith("/*", i)) {
                int close = code.indexOf("*/", i + 2);
                i = close < 0 ? n : close + 2;
                continue;
            }
            if (code.startsWith("\"\"\"", i)) {
                int close = code.indexOf("\"\"\"", i + 3);
                i = close < 0 ? n : close + 3;
                continue;
            }
            if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && code.charAt(j) != c) {
                    j += code.charAt(j) == '\\' ? 2 : 1;
                }
                i = j + 1;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            }
            i++;
            if (depth == 0 && (c == ';' || (c == '}' && !continues(code, i, code.substring(start, i))))) {
                int end = lineEnd(code, i); // a comment after the end on the same line stays with the unit
                String rest = code.substring(i, end).strip();
                if (!rest.startsWith("//")) {
                    end = i;
                }
                units.add(unit(code, start, end));
                start = end;
                i = end;
            }
        }
        if (!code.substring(start).isBlank()) {
            units.add(unit(code, start, n));
        }
        return units;
    }

    private static int lineEnd(String code, int from) {
        int nl = code.indexOf('\n', from);
        return nl < 0 ? code.length() : nl;
    }

    /** Whether the statement or declaration ending in a '}' at {@code at} goes on. */
    private static boolean continues(String code, int at, String unitSoFar) {
        String rest = stripComments(code.substring(at)).stripLeading();
        if (rest.isEmpty()) {
            return false;
        }
        if (rest.startsWith("while") && stripComments(unitSoFar).strip().startsWith("do")) {
            return true;
        }
        return rest.matches("(?s)^(else|catch|finally)\\b.*") || ")].,;:?".indexOf(rest.charAt(0)) >= 0;
    }

    private static Unit unit(String code, int start, int end) {
        // a unit starts on the line of its first character that is not white space
        int first = start;
        while (first < end && Character.isWhitespace(code.charAt(first)) && code.charAt(first) != '\n') {
            first++;
        }
        if (first < end && code.charAt(first) == '\n') {
            first++;
            start = first;
        }
        String text = code.substring(start, end);
        int line =
                (int) code.substring(0, start).chars().filter(ch -> ch == '\n').count();
        return new Unit(kind(text), text, line);
    }

    static UnitKind kind(String text) {
        String head = stripComments(text).strip().replaceFirst("^(?:@[\\w.]+(?:\\([^)]*\\))?\\s*)*", "");
        if (head.startsWith("import ")) {
            return UnitKind.IMPORT;
        }
        if (TYPE.matcher(head).matches()) {
            return UnitKind.TYPE;
        }
        String firstWord = head.split("[^\\w]", 2)[0];
        if (!STATEMENT_KEYWORDS.contains(firstWord) && METHOD.matcher(head).matches()) {
            return UnitKind.MEMBER;
        }
        if (STATIC_FIELD.matcher(head).matches()) {
            return UnitKind.MEMBER;
        }
        return UnitKind.STATEMENT;
    }

    private static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("(?m)//.*$", "");
    }

    // ---- compiling ----------------------------------------------------------------------------------

    static List<String> compile(List<SnippetSource> sources) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        Path out = Path.of("target", "snippet-classes");
        Files.createDirectories(out);
        String classPath =
                Files.readString(Path.of("target", "test-classpath.txt")).strip()
                        + java.io.File.pathSeparator
                        + Path.of("target", "test-classes");
        try (StandardJavaFileManager files =
                javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            List<String> options = List.of(
                    "-proc:none",
                    "-implicit:none",
                    "-Xlint:none",
                    "-nowarn",
                    "-classpath",
                    classPath,
                    "-d",
                    out.toString());
            javac.getTask(null, files, diagnostics, options, null, sources).call();
        }
        Map<String, List<String>> byPlace = new TreeMap<>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR) {
                continue;
            }
            if (d.getSource() instanceof SnippetSource s) {
                int line = s.originLine(d.getLineNumber());
                String place = s.snippet.origin() + ":" + line;
                byPlace.computeIfAbsent(place, k -> new ArrayList<>())
                        .add(place + ": "
                                + d.getMessage(Locale.ROOT).lines().findFirst().orElse("") + "   (snippet at line "
                                + s.snippet.line() + ")");
            } else {
                byPlace.computeIfAbsent("~", k -> new ArrayList<>()).add(d.toString());
            }
        }
        List<String> errors = new ArrayList<>();
        byPlace.values().forEach(errors::addAll);
        return errors;
    }
}
