package dev.weft.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import dev.weft.diag.StarvationProbe;
import java.io.File;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real headless browser (Debian's chromium and chromedriver, which
 * .ci/run installs): it shows a scope's known tasks, a deadlock and a cancelled task, and it
 * updates when a task is cancelled. Leaves a screenshot at target/console.png.
 */
@Timeout(180)
class ConsoleBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private static WebDriver browser() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new AssertionError("this test needs Debian's chromium and chromedriver at " + CHROMIUM + " and "
                    + CHROMEDRIVER + ": apt-get install -y chromium chromium-driver (.ci/run does it)");
        }
        Path profile = Files.createTempDirectory("weft-console-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments(
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--user-data-dir=" + profile,
                "--window-size=1400,900");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort()
                .build();
        return new ChromeDriver(service, options);
    }

    @Test
    void thePageShowsTheLiveTreeAndUpdatesWhenATaskIsCancelled() throws Exception {
        Channel<String> jobs = Channel.rendezvous();
        Promise<String> release = new Promise<>();
        Promise<Boolean> shielded = new Promise<>();
        AtomicReference<Task<?>> toCancel = new AtomicReference<>();
        AtomicReference<Task<?>> stubborn = new AtomicReference<>();
        CompletableFuture<Scope> started = new CompletableFuture<>();
        CompletableFuture<Object> ended = new CompletableFuture<>();
        Thread.ofPlatform().name("console-demo").start(() -> {
            try {
                ended.complete(Weft.run(ScopeOptions.named("orders"), scope -> {
                    scope.fork("ticker", () -> {
                        Weft.sleep(Duration.ofHours(1));
                        return null;
                    });
                    scope.fork("worker", jobs::receive);
                    toCancel.set(scope.fork(
                            "report",
                            () -> Weft.run(
                                    ScopeOptions.named("report-scope").withTimeout(Duration.ofMinutes(30)), s -> {
                                        s.fork("render", () -> {
                                            Weft.sleep(Duration.ofHours(1));
                                            return null;
                                        });
                                        return null;
                                    })));
                    stubborn.set(scope.fork(
                            "cleanup",
                            () -> Weft.shield(Duration.ofHours(1), () -> {
                                shielded.complete(true);
                                return release.await();
                            })));
                    Promise<Task<?>> toPing = new Promise<>();
                    Promise<Task<?>> toPong = new Promise<>();
                    Task<?> ping = scope.fork("ping", () -> toPing.await().join());
                    Task<?> pong = scope.fork("pong", () -> toPong.await().join());
                    toPing.complete(pong);
                    toPong.complete(ping);
                    started.complete(scope);
                    return null;
                }));
            } catch (Throwable e) {
                started.completeExceptionally(e);
                ended.completeExceptionally(e);
            }
        });
        Scope root = started.get();
        shielded.await();
        stubborn.get().cancel("shutting down");

        WebDriver driver = null;
        try (Console console = Console.start()) {
            assertTrue(
                    console.uri().toString().startsWith("http://127.0.0.1:"),
                    console.uri().toString());
            driver = browser();
            driver.get(console.uri().toString());
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
            wait.ignoring(StaleElementReferenceException.class);
            wait.ignoring(StaleElementReferenceException.class);
            for (String name :
                    new String[] {"orders", "ticker", "worker", "report", "report-scope", "render", "cleanup"}) {
                wait.until(ExpectedConditions.presenceOfElementLocated(node(name)));
            }
            // The page re-renders on every update, so each check finds its element afresh.
            wait.until(d -> textOf(d, node("worker")).contains("receives from c"));
            wait.until(d -> d.findElement(node("worker")).getAttribute("class").contains("parked"));
            wait.until(d -> d.findElement(node("cleanup")).getAttribute("class").contains("cancelled"));
            wait.until(d -> textOf(d, node("cleanup")).contains("shutting down"));
            wait.until(d -> textOf(d, By.cssSelector(".alert.deadlock")).contains("joins task 'pong'"));
            wait.until(d -> d.findElement(node("ping")).getAttribute("class").contains("deadlocked"));
            Path shot = Path.of("target", "console.png");
            Files.copy(
                    ((ChromeDriver) driver).getScreenshotAs(OutputType.FILE).toPath(),
                    shot,
                    StandardCopyOption.REPLACE_EXISTING);
            assertTrue(Files.size(shot) > 1000, "a screenshot was written");

            toCancel.get().cancel("report no longer wanted");
            wait.until(ExpectedConditions.numberOfElementsToBe(node("report"), 0));
            wait.until(ExpectedConditions.numberOfElementsToBe(node("render"), 0));
            assertEquals(1, driver.findElements(node("ticker")).size(), "the rest of the tree is still shown");
        } finally {
            if (driver != null) {
                driver.quit();
            }
            release.complete("done");
            root.cancel("test over");
            ended.handle((v, e) -> null).get();
        }
    }

    private static volatile boolean stopHogs;

    /** Spins without a checkpoint until told to stop: keeps one carrier to itself. */
    private static long hog() {
        long n = 0;
        while (!stopHogs) {
            n++;
        }
        return n;
    }

    @Test
    void thePageKeepsUpdatingWhileTasksHogTheCarriersAndShowsThem() throws Exception {
        int carriers = Integer.getInteger(
                "jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());
        stopHogs = false;
        WebDriver driver = null;
        try (Console console = Console.start();
                StarvationProbe probe = StarvationProbe.start(Duration.ofMillis(20), Duration.ofMillis(200), null)) {
            driver = browser();
            driver.get(console.uri().toString());
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
            wait.ignoring(StaleElementReferenceException.class);
            WebDriver d = driver;
            Weft.run(ScopeOptions.named("busy"), scope -> {
                try {
                    for (int i = 0; i < carriers; i++) {
                        scope.fork("hog-" + i, ConsoleBrowserTest::hog);
                    }
                    wait.until(
                            x -> textOf(x, By.cssSelector(".alert.starvation")).contains("task 'hog-0'"));
                    wait.until(x ->
                            x.findElement(node("hog-0")).getAttribute("class").contains("starving"));
                    Files.copy(
                            ((ChromeDriver) d).getScreenshotAs(OutputType.FILE).toPath(),
                            Path.of("target", "console-starvation.png"),
                            StandardCopyOption.REPLACE_EXISTING);
                } finally {
                    stopHogs = true;
                }
                return null;
            });
        } finally {
            stopHogs = true;
            if (driver != null) {
                driver.quit();
            }
        }
    }

    private static int status(URI uri, String method) throws Exception {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setRequestMethod(method);
        try {
            return c.getResponseCode();
        } finally {
            c.disconnect();
        }
    }

    private static String body(URI uri) throws Exception {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        try (var in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            c.disconnect();
        }
    }

    private static String textOf(WebDriver d, By by) {
        List<WebElement> found = d.findElements(by);
        return found.isEmpty() ? "" : found.getFirst().getText();
    }

    private static By node(String name) {
        return By.cssSelector(".node[data-name='" + name + "']");
    }

    @Test
    void theServerAnswersItsEndpointsAndRefusesWhatItDoesNotServe() throws Exception {
        try (Console console = Console.start(0)) {
            URI base = console.uri();
            assertEquals(200, status(base, "GET"));
            assertTrue(body(base).contains("console.js"));
            assertTrue(body(base.resolve("snapshot.json")).startsWith("{\"schema\":\"weft.tree/1\""));
            assertEquals(404, status(base.resolve("nope"), "GET"));
            assertEquals(405, status(base, "POST"));
        }
        assertThrows(IllegalArgumentException.class, () -> Console.start(70000));
        assertThrows(
                IllegalArgumentException.class,
                () -> Console.start(new java.net.InetSocketAddress(0), Duration.ofMillis(1)));
        assertThrows(NullPointerException.class, () -> Console.start(null, Console.DEFAULT_PERIOD));
    }
}
