package dev.weft.checks;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The public API of one JPMS module as sorted text: every public or protected type of its
 * exported packages, and every public or protected member those types declare, as generic
 * signatures. Two dumps differ exactly when the API a user compiles against differs.
 *
 * <p>Format: one line per type, its modifiers, kind, name, type parameters, supertypes and (for
 * a sealed type) its permitted API subtypes; then its members, indented by two spaces, one per
 * line, sorted. Types are sorted by binary name. Members inherited from a superclass that is
 * not itself part of the API are listed under the type that exposes them.
 */
final class ApiDump {

    private ApiDump() {}

    /** Dumps the module whose classes (a directory or a jar) hold {@code anchor}. */
    static String of(Class<?> anchor) throws IOException, ClassNotFoundException {
        Path location;
        try {
            location = Path.of(
                    anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        if (Files.isDirectory(location)) {
            return dump(location, anchor.getClassLoader());
        }
        try (FileSystem jar = FileSystems.newFileSystem(URI.create("jar:" + location.toUri()), Map.of())) {
            return dump(jar.getPath("/"), anchor.getClassLoader());
        }
    }

    private static String dump(Path root, ClassLoader loader) throws IOException, ClassNotFoundException {
        ModuleDescriptor descriptor;
        try (InputStream in = Files.newInputStream(root.resolve("module-info.class"))) {
            descriptor = ModuleDescriptor.read(in);
        }
        Set<String> exported = descriptor.exports().stream()
                .filter(e -> !e.isQualified())
                .map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toCollection(TreeSet::new));
        List<Class<?>> types = new ArrayList<>();
        for (String pkg : exported) {
            Path dir = root.resolve(pkg.replace('.', '/'));
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.sorted().toList()) {
                    String file = f.getFileName().toString();
                    if (file.endsWith(".class") && !file.equals("package-info.class")) {
                        Class<?> c = Class.forName(pkg + "." + file.substring(0, file.length() - 6), false, loader);
                        if (isApi(c)) {
                            types.add(c);
                        }
                    }
                }
            }
        }
        types.sort((a, b) -> a.getName().compareTo(b.getName()));
        StringBuilder out = new StringBuilder();
        out.append("# The public API of module ")
                .append(descriptor.name())
                .append(": exported packages ")
                .append(String.join(", ", exported))
                .append('\n');
        for (Class<?> c : types) {
            out.append(header(c)).append('\n');
            for (String m : members(c)) {
                out.append("  ").append(m).append('\n');
            }
        }
        return out.toString();
    }

    /** Public or protected, and so is every enclosing type; not synthetic, not anonymous or local. */
    static boolean isApi(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (k.isSynthetic() || k.isAnonymousClass() || k.isLocalClass() || !visible(k.getModifiers())) {
                return false;
            }
        }
        return true;
    }

    private static boolean visible(int modifiers) {
        return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
    }

    private static String header(Class<?> c) {
        List<String> words = new ArrayList<>();
        int mods = c.getModifiers() & Modifier.classModifiers();
        String kind;
        if (c.isAnnotation()) {
            kind = "@interface";
            mods &= ~(Modifier.ABSTRACT | Modifier.STATIC);
        } else if (c.isInterface()) {
            kind = "interface";
            mods &= ~(Modifier.ABSTRACT | Modifier.STATIC);
        } else if (c.isEnum()) {
            kind = "enum";
            mods &= ~(Modifier.FINAL | Modifier.STATIC | Modifier.ABSTRACT);
        } else if (c.isRecord()) {
            kind = "record";
            mods &= ~(Modifier.FINAL | Modifier.STATIC);
        } else {
            kind = "class";
        }
        if (!Modifier.toString(mods).isEmpty()) {
            words.add(Modifier.toString(mods));
        }
        if (c.isSealed()) {
            words.add("sealed");
        }
        words.add(kind);
        words.add(c.getName() + typeParameters(c.getTypeParameters()));
        if (deprecated(c) != null) {
            words.add(0, deprecated(c));
        }
        Type sup = c.getGenericSuperclass();
        if (sup != null && !c.isEnum() && !c.isRecord() && sup != Object.class) {
            words.add("extends " + sup.getTypeName());
        }
        Type[] interfaces = c.getGenericInterfaces();
        if (interfaces.length > 0 && !c.isAnnotation()) {
            words.add((c.isInterface() ? "extends " : "implements ")
                    + Arrays.stream(interfaces).map(Type::getTypeName).collect(Collectors.joining(", ")));
        }
        if (c.isSealed()) {
            List<String> permitted = Arrays.stream(c.getPermittedSubclasses())
                    .filter(ApiDump::isApi)
                    .map(Class::getName)
                    .sorted()
                    .toList();
            words.add(permitted.isEmpty() ? "(no API subtypes)" : "permits " + String.join(", ", permitted));
        }
        return String.join(" ", words);
    }

    private static String typeParameters(TypeVariable<?>[] params) {
        if (params.length == 0) {
            return "";
        }
        return Arrays.stream(params)
                .map(p -> {
                    List<String> bounds = Arrays.stream(p.getBounds())
                            .filter(b -> b != Object.class)
                            .map(Type::getTypeName)
                            .toList();
                    return bounds.isEmpty() ? p.getName() : p.getName() + " extends " + String.join(" & ", bounds);
                })
                .collect(Collectors.joining(", ", "<", ">"));
    }

    private static String deprecated(AnnotatedElement e) {
        Deprecated d = e.getAnnotation(Deprecated.class);
        return d == null ? null : d.forRemoval() ? "@Deprecated(forRemoval=true)" : "@Deprecated";
    }

    private static Set<String> members(Class<?> c) {
        Set<String> out = new TreeSet<>();
        // A public class may expose the public members of a superclass that is not API itself.
        for (Class<?> k = c; k != null && (k == c || !isApi(k)); k = k.getSuperclass()) {
            String from = k == c ? "" : "  (from " + k.getName() + ")";
            for (Field f : k.getDeclaredFields()) {
                if (visible(f.getModifiers()) && !f.isSynthetic()) {
                    out.add(signature(f, f.toGenericString(), k) + from);
                }
            }
            if (k == c) {
                for (Constructor<?> ctor : k.getDeclaredConstructors()) {
                    if (visible(ctor.getModifiers()) && !ctor.isSynthetic()) {
                        out.add(signature(ctor, ctor.toGenericString(), k));
                    }
                }
            }
            for (Method m : k.getDeclaredMethods()) {
                if (visible(m.getModifiers()) && !m.isSynthetic() && !m.isBridge()) {
                    out.add(signature(m, m.toGenericString(), k) + from);
                }
            }
        }
        return out;
    }

    /** Drops the declaring type's name from a member's generic string: {@code run(...)}, not {@code dev.weft.Weft.run(...)}. */
    private static String signature(Member m, String generic, Class<?> declaring) {
        String qualified = declaring.getTypeName();
        String s = m instanceof Constructor<?>
                ? generic.replace(qualified + "(", declaring.getSimpleName() + "(")
                : generic.replace(qualified + "." + m.getName(), m.getName());
        String dep = deprecated((AnnotatedElement) m);
        return dep == null ? s : dep + " " + s;
    }
}
