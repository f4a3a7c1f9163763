/**
 * The scheduler's state transitions, each one atomic in Redis. Shared by claim.ts (claims, renewals,
 * records). Key names mirror keys.ts.
 *
 * Invariants the scripts keep:
 * - a fire is admitted at most once: `SET fire NX PX` plus the high-water mark `hwm`, so even after the
 *   claim key expires an old fire can never be admitted again (fires of a job are admitted in order);
 * - every script carries a deadline (the sender's clock, checked against Redis `TIME`): a call that
 *   arrives after its sender gave up on it changes nothing;
 * - only the job's open run (`state.open`, the newest grant whose outcome is not recorded) may renew,
 *   record an outcome or start the next queued fire;
 * - every admitted fire ends in exactly one history outcome (succeeded, failed, timed-out, cancelled,
 *   covered, discarded, misfired, lost): a run whose lock lapsed without a record is recorded "lost"
 *   by the next grant of its job or by the recovery pass, and its holder's late record is refused.
 *   Counters count fires, so they add up to the fires admitted.
 */

const prelude = `
local prefix = ARGV[1]
local function k(kind, job) return prefix .. ':' .. kind .. ':' .. job end

-- A command that reaches Redis after its sender gave up on it (offline queue, resend on reconnect,
-- a frozen server reading its socket late) must change nothing: the sender has forgotten it.
do
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[2]) then
    return redis.error_reply('DEADLINE the command reached Redis after its sender gave up on it')
  end
end

local function record(job, entry, cap)
  redis.call('LPUSH', k('history', job), cjson.encode(entry))
  redis.call('LTRIM', k('history', job), 0, cap - 1)
  redis.call('HINCRBY', k('counters', job), entry.outcome, entry.count or 1)
end

-- The run whose outcome is not recorded yet ('token|fire|replica|grantedAt'): token, fire, replica.
local function openRun(job)
  local open = redis.call('HGET', k('state', job), 'open')
  if not open then return nil end
  return string.match(open, '^(%d+)|(%d+)|([^|]*)|')
end

local function forgetOpen(job)
  redis.call('HDEL', k('state', job), 'open')
  redis.call('ZREM', prefix .. ':open', job)
end

-- The open run's lock lapsed without an outcome: its holder died, stalled or lost Redis for a whole
-- lease. Record it once as lost; the holder, should it come back, can no longer record or renew.
local function closeLost(job, now, by, cap)
  local token, fire, holder = openRun(job)
  if not token then return end
  forgetOpen(job)
  redis.call('ZADD', k('lost', job), tonumber(token), token)
  redis.call('ZREMRANGEBYRANK', k('lost', job), 0, -257)
  record(job, { fire = tonumber(fire), token = tonumber(token), replica = holder, outcome = 'lost', at = now,
    reason = 'run lock lapsed without an outcome (replica ' .. holder .. ' crashed, stalled or lost Redis for a lease); whether it took effect is unknown; noticed by ' .. by }, cap)
end

-- Gives the run lock of a job to one fire and mints its fencing token. The lock must be free (or
-- its run already recorded, as cover-earlier does): a lapsed open run is recorded lost first.
local function grant(job, fire, replica, now, lease, cap)
  closeLost(job, now, replica, cap)
  local token = redis.call('INCR', k('fence', job))
  local value = token .. '|' .. fire .. '|' .. replica .. '|' .. now
  redis.call('HSET', k('state', job), 'runToken', token, 'open', value)
  redis.call('SET', k('run', job), value, 'PX', lease)
  redis.call('ZADD', prefix .. ':open', now + lease, job)
  return token
end

-- Queue members are 'fire|claimant': the replica that claimed a waiting fire is the one to run it.
local function queuedFire(member)
  local fire, claimant = string.match(member, '^(%d+)|?(.*)$')
  return fire, claimant
end

-- Chooses the next queued fire to run, applying the misfire strategy to fires that waited too long.
-- Returns the fire and the replica that claimed it, or nil.
local function pickNext(job, now, misfire, threshold, replica, cap)
  local pend = redis.call('ZRANGE', k('pending', job), 0, -1)
  if #pend == 0 then return nil end
  local late, onTime = {}, {}
  for _, m in ipairs(pend) do
    if now - tonumber((queuedFire(m))) > threshold then table.insert(late, m) else table.insert(onTime, m) end
  end
  local chosen = onTime[1]
  if #late > 0 then
    for _, m in ipairs(late) do redis.call('ZREM', k('pending', job), m) end
    local dropped = #late
    if misfire == 'fire-once' then
      chosen = late[#late]
      dropped = #late - 1
    end
    if dropped > 0 then
      record(job, { fire = tonumber((queuedFire(late[#late]))), outcome = 'misfired', count = dropped, replica = replica,
        at = now, reason = 'waited longer than ' .. threshold .. ' ms behind a running fire' }, cap)
    end
  end
  if not chosen then return nil end
  redis.call('ZREM', k('pending', job), chosen)
  return queuedFire(chosen)
end
`;

/** Claim and block decision as Lua functions, shared by the batch scripts below. */
const claimAndDecide = `
-- SET NX PX claim plus the high-water mark. Returns nil when the fire is not ours, else the previous hwm.
local function claim(job, fire, replica, claimTtl)
  if not redis.call('SET', k('fire', job) .. ':' .. fire, replica, 'PX', claimTtl, 'NX') then return nil, 'lost' end
  local hwm = tonumber(redis.call('HGET', k('state', job), 'hwm') or '-1')
  if tonumber(fire) <= hwm then return nil, 'stale' end
  redis.call('HSET', k('state', job), 'hwm', fire)
  return hwm
end

local function markDecided(job, fire)
  local decided = tonumber(redis.call('HGET', k('state', job), 'decided') or '-1')
  if tonumber(fire) > decided then redis.call('HSET', k('state', job), 'decided', fire) end
end

-- The block strategy, for a claimed fire at its instant. Returns {status, fire, token}.
local function decide(job, fire, block, misfire, threshold, replica, now, lease, cap)
  markDecided(job, fire)
  local f = tonumber(fire)
  local holder = redis.call('GET', k('run', job))
  if holder then
    if block == 'serial' then
      redis.call('ZADD', k('pending', job), f, fire .. '|' .. replica)
      -- The third value tells the claimant when to check on the holder (see drainScript).
      return { 'queued', fire, redis.call('PTTL', k('run', job)) }
    elseif block == 'discard-later' then
      record(job, { fire = f, outcome = 'discarded', replica = replica, at = now,
        reason = 'previous run still running: ' .. holder }, cap)
      return { 'discarded', fire, 0 }
    end
    local oldToken, oldFire, oldReplica = string.match(holder, '^(%d+)|(%d+)|([^|]*)|')
    redis.call('ZADD', k('covered', job), tonumber(oldToken), oldToken)
    redis.call('ZREMRANGEBYRANK', k('covered', job), 0, -257)
    record(job, { fire = tonumber(oldFire), token = tonumber(oldToken), replica = oldReplica, outcome = 'covered',
      at = now, reason = 'covered by fire ' .. fire }, cap)
    forgetOpen(job)
    redis.call('PUBLISH', prefix .. ':cancel', job .. '|' .. oldToken)
    return { 'run', fire, grant(job, fire, replica, now, lease, cap) }
  end
  if redis.call('ZCARD', k('pending', job)) > 0 then
    -- The previous holder died with fires queued behind it: run them first, in order.
    redis.call('ZADD', k('pending', job), f, fire .. '|' .. replica)
    local chosen = pickNext(job, now, misfire, threshold, replica, cap)
    if chosen then return { 'run', chosen, grant(job, chosen, replica, now, lease, cap) } end
    return { 'misfired', fire, 0 }
  end
  return { 'run', fire, grant(job, fire, replica, now, lease, cap) }
end
`;

/**
 * Claims upcoming fires ahead of their instant (XXL-Job's "pre-read"), so no Redis round trip sits
 * between the timer and the start. When the job is idle (no run lock, no queue, every earlier fire
 * decided) nothing can change before the instant, so the run is granted right away: "granted". Else
 * the block decision waits for the instant: "claimed" (then call decideScript).
 * A home replica also stores `claimed:<replica>` = "<upTo>|<ring digest>": every fire of the jobs that
 * hash to it, up to that instant, is claimed, so backups that share the ring digest need not try them.
 * ARGV: prefix, deadline, replica, now, leaseMs, claimTtlMs, historyCap, markUpTo (0: none), ringDigest,
 *   count, then per fire: job, fire.
 * Returns per fire {status, fire, token}: status is lost | stale | granted | claimed.
 */
export const claimAheadScript = `${prelude}${claimAndDecide}
local replica, now, lease, claimTtl, cap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local markUpTo, digest, count = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local results = {}
for i = 0, count - 1 do
  local job, fire = ARGV[11 + i * 2], ARGV[12 + i * 2]
  local hwm, why = claim(job, fire, replica, claimTtl)
  if not hwm then
    results[i + 1] = { why, fire, 0 }
  else
    local decided = tonumber(redis.call('HGET', k('state', job), 'decided') or '-1')
    if decided == hwm and redis.call('EXISTS', k('run', job)) == 0 and redis.call('ZCARD', k('pending', job)) == 0 then
      markDecided(job, fire)
      results[i + 1] = { 'granted', fire, grant(job, fire, replica, now, lease, cap) }
    else
      results[i + 1] = { 'claimed', fire, 0 }
    end
  end
end
if markUpTo > 0 then redis.call('SET', prefix .. ':claimed:' .. replica, markUpTo .. '|' .. digest, 'PX', claimTtl) end
return results
`;

/**
 * Applies the block strategy to fires this replica claimed ahead, at their instant.
 * ARGV: prefix, deadline, replica, now, leaseMs, historyCap, count, then per fire: job, fire, block, misfire, thresholdMs.
 * Returns per fire {status, fire, token}: run | queued | discarded | misfired ("run" may name an older queued fire).
 */
export const decideScript = `${prelude}${claimAndDecide}
local replica, now, lease, cap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local count = tonumber(ARGV[7])
local results = {}
for i = 0, count - 1 do
  local b = 8 + i * 5
  results[i + 1] = decide(ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], tonumber(ARGV[b + 4]), replica, now, lease, cap)
end
return results
`;

/**
 * Claims and decides late fires in one step (the timer woke after the instant: startup after
 * downtime, a stalled event loop), applying the misfire strategy.
 * ARGV: prefix, deadline, replica, now, leaseMs, claimTtlMs, historyCap, count, then per fire 7 values:
 *   job, fire, block, misfire, thresholdMs, lateList ("" or comma-separated late fires ending with fire), lateBeyondCap.
 * Returns per fire {status, fire, token}: status is lost | stale | run | queued | discarded | misfired.
 */
export const admitScript = `${prelude}${claimAndDecide}
local replica, now, lease, claimTtl, cap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local count = tonumber(ARGV[8])
local results = {}
for i = 0, count - 1 do
  local b = 9 + i * 7
  local job, fire, block, misfire = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local threshold, lateList, beyond = tonumber(ARGV[b + 4]), ARGV[b + 5], tonumber(ARGV[b + 6])
  local hwm, why = claim(job, fire, replica, claimTtl)
  if not hwm then
    results[i + 1] = { why, fire, 0 }
  else
    local skipped = false
    if lateList ~= '' then
      -- Fires nobody started in time: count those newer than what was already admitted.
      local missed, first = 0, nil
      for late in string.gmatch(lateList, '[^,]+') do
        first = first or tonumber(late)
        if tonumber(late) > hwm then missed = missed + 1 end
      end
      if first and hwm < first then missed = missed + beyond end
      local dropped = missed
      if misfire == 'fire-once' then dropped = missed - 1 end
      if dropped > 0 then
        record(job, { fire = tonumber(fire), outcome = 'misfired', count = dropped, replica = replica, at = now,
          reason = 'not started within ' .. threshold .. ' ms of its fire time' }, cap)
      end
      skipped = misfire == 'skip'
    end
    if skipped then
      markDecided(job, fire)
      results[i + 1] = { 'misfired', fire, 0 }
    else
      results[i + 1] = decide(job, fire, block, misfire, threshold, replica, now, lease, cap)
    end
  end
end
return results
`;

/**
 * Starts the oldest queued fire of a job whose run lock is free: its holder finished and handed the
 * queue over (see finishScript), or it died or stalled and waiting for the next fire would stretch
 * the failover beyond one lease. Called by replicas that queued fires, on a handover message or at
 * the holder's lease expiry.
 * ARGV: prefix, deadline, replica, now, leaseMs, historyCap, job, misfire, thresholdMs.
 * Returns {status, fire, tokenOrPttl}: busy (lock still held; PTTL) | idle (nothing queued) | run.
 */
export const drainScript = `${prelude}
local replica, now, lease, cap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local job, misfire, threshold = ARGV[7], ARGV[8], tonumber(ARGV[9])
local pttl = redis.call('PTTL', k('run', job))
if pttl > 0 then return { 'busy', '0', pttl } end
closeLost(job, now, replica, cap)
local chosen = pickNext(job, now, misfire, threshold, replica, cap)
if not chosen then return { 'idle', '0', 0 } end
return { 'run', chosen, grant(job, chosen, replica, now, lease, cap) }
`;

/**
 * Records a finished run, if it is still the job's open run, and hands over to the next queued fire:
 * to this replica if it claimed that fire, else to the replica that did (the lock is released and
 * that replica told on its `handover:<replica>` channel), so that a replica that has fallen behind
 * does not keep a busy job's fires to itself.
 * ARGV: prefix, deadline, job, token, replica, now, leaseMs, historyCap, misfire, thresholdMs, entryJson, takeNext ("1"/"0").
 * A replica shutting down passes takeNext "0": the queue stays for the next fire's claimant.
 * Returns {status, fire, token}: idle | run (next fire and its token) | handed ("fire|claimant") | covered | lost (recorded as such already) | recorded (a retried
 * call whose first attempt took effect).
 */
export const finishScript = `${prelude}
local job, token, replica, now = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local lease, cap, misfire, threshold = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local entry = cjson.decode(ARGV[11])
if openRun(job) ~= token then
  if redis.call('ZSCORE', k('covered', job), token) then
    redis.call('ZREM', k('covered', job), token)
    return { 'covered', '0', 0 }
  end
  if redis.call('ZSCORE', k('lost', job), token) then return { 'lost', '0', 0 } end
  return { 'recorded', '0', 0 }
end
record(job, entry, cap)
forgetOpen(job)
local chosen, claimant = nil, nil
if ARGV[12] == '1' then chosen, claimant = pickNext(job, now, misfire, threshold, replica, cap) end
if not chosen then
  redis.call('DEL', k('run', job))
  return { 'idle', '0', 0 }
end
if claimant ~= '' and claimant ~= replica then
  redis.call('ZADD', k('pending', job), tonumber(chosen), chosen .. '|' .. claimant)
  redis.call('DEL', k('run', job))
  redis.call('PUBLISH', prefix .. ':handover:' .. claimant, job)
  return { 'handed', chosen .. '|' .. claimant, 0 }
end
return { 'run', chosen, grant(job, chosen, replica, now, lease, cap) }
`;

/**
 * Extends the run lock while the token's run is the job's open run. ARGV: prefix, deadline, job, token, value, leaseMs, now.
 * Returns 1 while the run owns the job; once it does not (the run must stop): 2 if a later fire
 * covered it (cover-earlier), 0 otherwise (its lease lapsed: recorded lost, maybe taken over).
 */
export const renewScript = `${prelude}
local job, token, value, lease, now = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
if openRun(job) ~= token then
  if redis.call('ZSCORE', k('covered', job), token) then return 2 end
  return 0
end
redis.call('SET', k('run', job), value, 'PX', lease)
redis.call('ZADD', prefix .. ':open', now + lease, job)
return 1
`;

/**
 * The recovery pass: records "lost" for open runs whose lock lapsed (their holder died, stalled or
 * lost Redis) even when no later fire of the job comes to notice it. Any replica may run it.
 * ARGV: prefix, deadline, replica, now, historyCap, limit. Returns the number of runs recorded lost.
 */
export const sweepScript = `${prelude}
local replica, now, cap, limit = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local closed = 0
for _, job in ipairs(redis.call('ZRANGEBYSCORE', prefix .. ':open', '-inf', now, 'LIMIT', 0, limit)) do
  local pttl = redis.call('PTTL', k('run', job))
  if pttl > 0 then
    redis.call('ZADD', prefix .. ':open', now + pttl, job)
  else
    if openRun(job) then closed = closed + 1 end
    closeLost(job, now, replica, cap)
    redis.call('ZREM', prefix .. ':open', job)
  end
end
return closed
`;
