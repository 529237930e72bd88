package dev.weft.demo;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The service's access check: with a token, every request must carry it; without one (the
 * loopback default) everything is open. The check runs on the HTTP server's thread, before
 * a request becomes a task, so a refused request costs no task.
 *
 * <ul>
 *   <li>The API takes the token only as {@code Authorization: Bearer TOKEN}.</li>
 *   <li>The console under {@code /console/} is opened by a browser, which cannot send that
 *       header: it also takes {@code ?token=TOKEN} once, answers with an {@code HttpOnly},
 *       {@code SameSite=Strict} cookie scoped to {@code /console/} and a redirect to the page
 *       without the token in its address; the page and its event stream then carry the
 *       cookie. The console only reads, so the cookie grants nothing that changes a job.</li>
 * </ul>
 * Anything else gets 401 with {@code {"error": "..."}} and {@code WWW-Authenticate: Bearer}.
 * Tokens are compared in constant time.
 */
final class Access {
    /** The cookie that carries the token for the console. */
    static final String COOKIE = "weft-token";
    /** Where the console is mounted. */
    static final String CONSOLE = "/console/";
    /** What a token may contain: what fits in both a header and a cookie unquoted. */
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9._~+/=-]{16,512}");

    private final byte[] token; // null: open

    private Access(String token) {
        this.token = token == null ? null : token.getBytes(StandardCharsets.US_ASCII);
    }

    /** No check: every request is let through. */
    static Access open() {
        return new Access(null);
    }

    /**
     * Requires {@code token}.
     *
     * @throws IllegalArgumentException if the token is not acceptable (see {@link #checkToken})
     */
    static Access requiring(String token) {
        checkToken(token);
        return new Access(token);
    }

    /**
     * Checks that {@code token} can serve as the access token.
     *
     * @throws IllegalArgumentException naming what is wrong and what is accepted
     */
    static void checkToken(String token) {
        if (token == null || !TOKEN.matcher(token).matches()) {
            String got = token == null
                    ? "none"
                    : token.length() + " character(s)"
                            + (token.chars().allMatch(c -> c > ' ' && c < 127)
                                    ? ""
                                    : ", some not printable ASCII or spaces");
            throw new IllegalArgumentException("the access token must be 16 to 512 characters of letters, digits and"
                    + " . _ ~ + / = - (got " + got + "); omit it to have one generated");
        }
    }

    /** A new random token: 32 bytes from {@link SecureRandom}, base64url, 43 characters. */
    static String generate() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    boolean required() {
        return token != null;
    }

    /**
     * True if an API request may proceed; otherwise it has been answered 401. Never blocks.
     */
    boolean admitsApi(Request request, Response response, Callback callback) {
        if (token == null || matches(bearer(request))) {
            return true;
        }
        refuse(
                response,
                callback,
                "the API needs the access token: send the header 'Authorization: Bearer TOKEN'"
                        + " (the token the service printed at start, or gave with --token or WEFT_TOKEN)");
        return false;
    }

    /**
     * True if a console request may proceed; otherwise it has been answered: 401, or a
     * redirect that sets the cookie when the token came in the query. Never blocks.
     */
    boolean admitsConsole(Request request, Response response, Callback callback) {
        if (token == null || matches(bearer(request)) || matches(cookie(request))) {
            return true;
        }
        String fromQuery = queryToken(request.getHttpURI().getQuery());
        if (matches(fromQuery)) {
            Response.addCookie(
                    response,
                    HttpCookie.build(COOKIE, fromQuery)
                            .path(CONSOLE)
                            .httpOnly(true)
                            .sameSite(HttpCookie.SameSite.STRICT)
                            .build());
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
            Response.sendRedirect(request, response, callback, 303, CONSOLE, true);
            return false;
        }
        refuse(
                response,
                callback,
                "the console needs the access token: open " + CONSOLE
                        + "?token=TOKEN once in the browser (it then keeps a cookie), or send 'Authorization: Bearer TOKEN'");
        return false;
    }

    private boolean matches(String candidate) {
        return candidate != null && MessageDigest.isEqual(token, candidate.getBytes(StandardCharsets.US_ASCII));
    }

    private static String bearer(Request request) {
        String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (h == null || h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        return h.substring(7).trim();
    }

    private static String cookie(Request request) {
        for (HttpCookie c : Request.getCookies(request)) {
            if (c.getName().equals(COOKIE)) {
                return c.getValue();
            }
        }
        return null;
    }

    @SuppressWarnings("StringSplitter") // dropping trailing empty pairs ("a=1&") is what a query string wants
    private static String queryToken(String rawQuery) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.startsWith("token=")) {
                try {
                    return URLDecoder.decode(pair.substring(6), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    return null;
                }
            }
        }
        return null;
    }

    private static void refuse(Response response, Callback callback, String message) {
        response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"weft\"");
        HttpFront.answer(response, callback, 401, Json.error(message));
    }
}
