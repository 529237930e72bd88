package dev.weft.demo;

/**
 * A request the API refuses: the HTTP status to answer and a message that names what was
 * wrong and how to fix it. The API answers it as {@code {"error": message}}.
 */
final class ApiError extends Exception {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String allow;

    private ApiError(int status, String message, String allow) {
        super(message, null, false, false);
        this.status = status;
        this.allow = allow;
    }

    /** 400: the request itself is wrong (malformed JSON, unknown field, value out of range). */
    static ApiError badRequest(String message) {
        return new ApiError(400, message, null);
    }

    /** 404: no such job or path. */
    static ApiError notFound(String message) {
        return new ApiError(404, message, null);
    }

    /** 405: the path exists, the method does not; {@code allow} lists the methods that do. */
    static ApiError methodNotAllowed(String method, String path, String allow) {
        return new ApiError(405, method + " is not allowed on " + path + "; allowed: " + allow, allow);
    }

    /** 408: the client did not send its request in time. */
    static ApiError timeout(String message) {
        return new ApiError(408, message, null);
    }

    /** 409: the request conflicts with the job's state (cancelling a finished job). */
    static ApiError conflict(String message) {
        return new ApiError(409, message, null);
    }

    /** 413: the body is larger than the API reads. */
    static ApiError tooLarge(String message) {
        return new ApiError(413, message, null);
    }

    /** 503: the service is shutting down and takes no new jobs. */
    static ApiError unavailable(String message) {
        return new ApiError(503, message, null);
    }

    int status() {
        return status;
    }

    /** The value of the {@code Allow} header for a 405, or null. */
    String allow() {
        return allow;
    }
}
