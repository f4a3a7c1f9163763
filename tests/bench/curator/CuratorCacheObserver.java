import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

import org.apache.curator.drivers.AdvancedTracerDriver;
import org.apache.curator.drivers.EventTrace;
import org.apache.curator.drivers.OperationTrace;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * The anchor of `npm run bench:discovery`: Apache Curator's CuratorCache watching one service
 * directory, speaking the same line protocol as tests/bench/discovery-observer.ts so that the bench
 * measures both the same way.
 *
 * stdin:  "start" (close any previous client, open a new session and cache), "stats", "stop".
 * stdout: "ready <micros>" once the cache is initialised, "view <micros> <crc>" after every change of
 *         the instance list, "stats <reads> <json of operations by name>".
 * micros: wall clock (epoch microseconds) taken right after the cache applied the change.
 * crc:    CRC-32 (hex) of the instances sorted by id, one "id|host|port|track|weight" per line.
 */
public final class CuratorCacheObserver {
    // The bench writes flat JSON objects; a full JSON parser is not what is being compared.
    private static final Pattern HOST = Pattern.compile("\"host\":\"([^\"]*)\"");
    private static final Pattern PORT = Pattern.compile("\"port\":(\\d+)");
    private static final Pattern TRACK = Pattern.compile("\"track\":\"([^\"]*)\"");
    private static final Pattern WEIGHT = Pattern.compile("\"weight\":([0-9.]+)");

    /** Counts what the client asks ZooKeeper, by Curator's own operation names. */
    static final class OperationCounter extends AdvancedTracerDriver {
        final Map<String, AtomicLong> byName = new ConcurrentHashMap<>();

        @Override
        public void addTrace(OperationTrace trace) {
            byName.computeIfAbsent(trace.getName(), k -> new AtomicLong()).incrementAndGet();
        }

        @Override
        public void addEvent(EventTrace trace) {}

        long reads() {
            long n = 0;
            for (Map.Entry<String, AtomicLong> e : byName.entrySet()) {
                String name = e.getKey();
                if (name.startsWith("GetDataBuilderImpl") || name.startsWith("GetChildrenBuilderImpl") || name.startsWith("ExistsBuilderImpl")) {
                    n += e.getValue().get();
                }
            }
            return n;
        }

        String json() {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<String, AtomicLong> e : new TreeMap<>(byName).entrySet()) {
                if (sb.length() > 1) sb.append(',');
                sb.append('"').append(e.getKey()).append("\":").append(e.getValue().get());
            }
            return sb.append('}').toString();
        }
    }

    private final String path;
    private final CuratorFramework client;
    private final CuratorCache cache;
    private final OperationCounter counter = new OperationCounter();
    private long lastCrc = -1;

    private CuratorCacheObserver(String connect, String path) {
        this.path = path;
        client = CuratorFrameworkFactory.builder().connectString(connect).sessionTimeoutMs(15_000)
            .retryPolicy(new ExponentialBackoffRetry(100, 3)).build();
        client.getZookeeperClient().setTracerDriver(counter);
        cache = CuratorCache.build(client, path);
        cache.listenable().addListener(CuratorCacheListener.builder()
            .forAll((type, oldData, data) -> publish(false))
            .forInitialized(() -> publish(true))
            .build());
    }

    private void start() throws InterruptedException {
        client.start();
        if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("no ZooKeeper session within 30 s");
        cache.start();
    }

    private void close() {
        cache.close();
        client.close();
    }

    private synchronized void publish(boolean initialized) {
        long micros = nowMicros();
        TreeMap<String, String> view = new TreeMap<>();
        String prefix = path + "/";
        cache.stream().forEach((ChildData child) -> {
            String p = child.getPath();
            if (!p.startsWith(prefix) || p.indexOf('/', prefix.length()) >= 0) return;
            byte[] data = child.getData();
            if (data == null) return;
            String json = new String(data, StandardCharsets.UTF_8);
            String host = find(HOST, json), port = find(PORT, json);
            if (host == null || port == null) return;
            String track = find(TRACK, json), weight = find(WEIGHT, json);
            view.put(p.substring(prefix.length()), host + "|" + port + "|" + (track == null ? "stable" : track) + "|" + (weight == null ? "100" : weight));
        });
        StringBuilder canonical = new StringBuilder();
        for (Map.Entry<String, String> e : view.entrySet()) {
            if (canonical.length() > 0) canonical.append('\n');
            canonical.append(e.getKey()).append('|').append(e.getValue());
        }
        CRC32 crc = new CRC32();
        crc.update(canonical.toString().getBytes(StandardCharsets.UTF_8));
        long value = crc.getValue();
        if (initialized) System.out.println("ready " + micros);
        if (initialized || value != lastCrc) System.out.println("view " + micros + " " + Long.toHexString(value));
        System.out.flush();
        lastCrc = value;
    }

    private static String find(Pattern pattern, String json) {
        Matcher m = pattern.matcher(json);
        return m.find() ? m.group(1) : null;
    }

    private static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: CuratorCacheObserver <connect> <path>");
            System.exit(2);
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        CuratorCacheObserver current = null;
        for (String line; (line = in.readLine()) != null; ) {
            switch (line.trim()) {
                case "start":
                    if (current != null) current.close();
                    current = new CuratorCacheObserver(args[0], args[1]);
                    current.start();
                    break;
                case "stats":
                    System.out.println(current == null ? "stats 0 {}" : "stats " + current.counter.reads() + " " + current.counter.json());
                    System.out.flush();
                    break;
                case "stop":
                    if (current != null) current.close();
                    return;
                default:
                    System.err.println("unknown command: " + line);
            }
        }
        if (current != null) current.close();
    }
}
