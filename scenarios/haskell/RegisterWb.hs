{-# LANGUAGE BangPatterns #-}
{-# LANGUAGE DataKinds #-}
{-# LANGUAGE DeriveAnyClass #-}
{-# LANGUAGE DeriveGeneric #-}
{-# LANGUAGE FlexibleContexts #-}
{-# LANGUAGE GADTs #-}
{-# LANGUAGE NoImplicitPrelude #-}
{-# LANGUAGE RankNTypes #-}
{-# LANGUAGE RecordWildCards #-}
{-# LANGUAGE ScopedTypeVariables #-}
{-# LANGUAGE TypeApplications #-}
{-# LANGUAGE TypeOperators #-}
{-# LANGUAGE ViewPatterns #-}
{-# OPTIONS_GHC -fplugin GHC.TypeLits.Normalise #-}
{-# OPTIONS_GHC -fplugin GHC.TypeLits.KnownNat.Solver #-}
{-# OPTIONS_GHC -fplugin GHC.TypeLits.Extra.Solver #-}
{-# OPTIONS_GHC -fexpose-all-unfoldings -fno-worker-wrapper #-}

{- |
RegisterWb: a Clash (clash-prelude 1.6.4, GHC 9.0.2) simulation of the RegisterWb
system that membound's Rust simulator also models:

  pseudo-random Wishbone master + scoreboard
        |  WishboneM2S / WishboneS2M
  single-master interconnect (routes by a 4-bit address prefix, `err` on unmapped)
        |
  4 x registerWb slaves (a 32-bit register written by the circuit and over the bus)

Usage:  RegisterWb VARIANT CYCLES [SEED]   (VARIANT: fixed | lazy_unzip |
        lazy_record_update | unshared_iterate)

Each leaky variant reintroduces exactly one culprit of the bittide RegisterWb space
leak (see seed/space-leak-investigation.txt); `fixed` has all three fixes.

Phase markers (Membound.marker: eventlog user markers, and placed live for membound): "init" at start, "steady" once
the circuit has warmed up (after 300 cycles, or after CYCLES/10 in a run shorter than 3000 cycles), "end" after
the last cycle.
-}
module Main (main) where

import Clash.Prelude
import Clash.Signal.Internal (Signal(..))
import Clash.Promoted.Nat (UNat(..), toUNat)
import Clash.Sized.Vector (Vec(Cons))
import Control.Applicative ((<|>))
import Data.Word (Word64)
import Membound (marker)
import System.Environment (getArgs)
import System.Exit (exitWith, ExitCode(..))
import System.IO (hPutStrLn, stderr)
import Text.Read (readMaybe)
import qualified Prelude as P

------------------------------------------------------------------------------
-- Variants

data Variant = FixedV | LazyUnzip | LazyRecordUpdate | UnsharedIterate
  deriving (Eq, Show)

parseVariant :: String -> Maybe Variant
parseVariant s = case s of
  "fixed"              -> Just FixedV
  "lazy_unzip"         -> Just LazyUnzip
  "lazy_record_update" -> Just LazyRecordUpdate
  "unshared_iterate"   -> Just UnsharedIterate
  _                    -> Nothing

------------------------------------------------------------------------------
-- Wishbone (clash-prelude 1.6.4 has no Wishbone module; same fields as
-- clash-protocols' Protocols.Wishbone)

data CycleTypeIdentifier = Classic | ConstantAddressBurst | IncrementingBurst | EndOfBurst
  deriving (Eq, Show, Generic, NFDataX)

data BurstTypeExtension = LinearBurst | Beat4Burst | Beat8Burst | Beat16Burst
  deriving (Eq, Show, Generic, NFDataX)

data WishboneM2S = WishboneM2S
  { addr                :: BitVector 32
  , writeData           :: BitVector 32
  , busSelect           :: BitVector 4
  , lock                :: Bool
  , busCycle            :: Bool
  , strobe              :: Bool
  , writeEnable         :: Bool
  , cycleTypeIdentifier :: CycleTypeIdentifier
  , burstTypeExtension  :: BurstTypeExtension
  } deriving (Eq, Show, Generic, NFDataX)

data WishboneS2M = WishboneS2M
  { readData    :: BitVector 32
  , acknowledge :: Bool
  , err         :: Bool
  , stall       :: Bool
  , retry       :: Bool
  } deriving (Eq, Show, Generic, NFDataX)

emptyWishboneM2S :: WishboneM2S
emptyWishboneM2S = WishboneM2S 0 0 0 False False False False Classic LinearBurst

emptyWishboneS2M :: WishboneS2M
emptyWishboneS2M = WishboneS2M 0 False False False False

updateM2SAddr :: BitVector 32 -> WishboneM2S -> WishboneM2S
updateM2SAddr newAddr m2s = m2s{addr = newAddr}

-- | Culprit 2's fix (bittide): rebuild the record with every field forced.
strictM2S :: WishboneM2S -> WishboneM2S
strictM2S (WishboneM2S !a !b !c !d !e !f !g !h !i) = WishboneM2S a b c d e f g h i

------------------------------------------------------------------------------
-- Culprit 1: unzip

-- | Culprit 1's fix: a single pass with a lazy pattern. The halves hold selector
-- thunks (@fst p@), which the GC short-cuts once @p@ is evaluated.
unzipSinglePass :: Vec n (a, b) -> (Vec n a, Vec n b)
unzipSinglePass Nil = (Nil, Nil)
unzipSinglePass (~(a, b) `Cons` rest) =
  let (as, bs) = unzipSinglePass rest
  in  (a `Cons` as, b `Cons` bs)

------------------------------------------------------------------------------
-- Culprit 3: iterate

-- | iterate without sharing, as the investigation describes clash-prelude's
-- iterateI: @a :> map f (a :> map f (a :> ...))@. Element k recomputes
-- @f^k a@ through k nested maps: quadratic work, and the nested maps being
-- walked stay live (one more layer per element consumed).
iterateUnshared :: forall n a . SNat n -> (a -> a) -> a -> Vec n a
iterateUnshared n f a = go (toUNat n)
 where
  go :: UNat m -> Vec m a
  go UZero     = Nil
  go (USucc s) = a `Cons` map f (go s)

-- | Culprit 3's fix: directly recursive with a strict accumulator.
iterateStrict :: forall n a . SNat n -> (a -> a) -> a -> Vec n a
iterateStrict n f = go (toUNat n)
 where
  go :: UNat m -> a -> Vec m a
  go UZero _      = Nil
  go (USucc s) !x = x `Cons` go s (f x)

iterateV :: Variant -> SNat n -> (a -> a) -> a -> Vec n a
iterateV UnsharedIterate = iterateUnshared
iterateV _               = iterateStrict

------------------------------------------------------------------------------
-- Memory map

type NSlaves = 4
type Prefix = Unsigned 4

data MemMapEntry = MemMapEntry { mmName :: String, mmSize :: Int }
  deriving (Show)

-- | Prefixes 1,2,3,4 (0 and 5..15 are unmapped), built with the variant's iterate.
slavePrefixes :: Variant -> Vec NSlaves Prefix
slavePrefixes v = iterateV v SNat (+ 1) 1

data Priority = CircuitPriority | WishbonePriority
  deriving (Eq, Show)

slavePriorities :: Vec NSlaves Priority
slavePriorities = CircuitPriority :> WishbonePriority :> CircuitPriority :> WishbonePriority :> Nil

------------------------------------------------------------------------------
-- Interconnect, written the way bittide writes singleMasterInterconnect(C)

maskToMaybes :: Vec n a -> Vec n Bool -> Vec n (Maybe a)
maskToMaybes = zipWith (\a sel -> if sel then Just a else Nothing)

foldMaybes :: a -> Vec n (Maybe a) -> a
foldMaybes dflt v = case foldl (<|>) Nothing v of
  Just x  -> x
  Nothing -> dflt

singleMasterInterconnect ::
  forall dom n .
  KnownNat n =>
  Variant ->
  Vec n Prefix ->
  Signal dom WishboneM2S ->
  Signal dom (Vec n WishboneS2M) ->
  (Signal dom WishboneS2M, Signal dom (Vec n WishboneM2S))
singleMasterInterconnect variant (fmap pack -> config) master slaves =
  unbundle (go <$> master <*> slaves)
 where
  strictIfFixed | variant == LazyRecordUpdate = id
                | otherwise                   = strictM2S
  go master'@WishboneM2S{..} slaves' = (toMaster, toSlaves)
   where
    oneHotOrZeroSelected = fmap (== addrIndex) config
    (addrIndex, newAddr) = split @_ @4 @28 addr
    toSlaves =
      (\newStrobe -> strictIfFixed $
          (updateM2SAddr (zeroExtend newAddr) master'){strobe = strobe && newStrobe})
        <$> oneHotOrZeroSelected
    toMaster
      | busCycle && strobe =
          foldMaybes
            emptyWishboneS2M{err = True} -- master tries to access unmapped memory
            (maskToMaybes slaves' oneHotOrZeroSelected)
      | otherwise = emptyWishboneS2M

-- | The Circuit-style wrapper: the slaves' side comes in as one vector of
-- (prefix, (memory-map entry, S2M signal)), taken apart with unzip as in
-- bittide's @go (((), m2s), unzip -> (prefixes, unzip -> (slaveMms, s2ms)))@.
-- The memory map (SimOnly in bittide) is handed back to the caller, which keeps
-- it until the end of the simulation.
singleMasterInterconnectC ::
  forall dom n .
  KnownNat n =>
  Variant ->
  (Signal dom WishboneM2S, Vec n (Prefix, (MemMapEntry, Signal dom WishboneS2M))) ->
  ((Vec n (Prefix, MemMapEntry), Signal dom WishboneS2M), Vec n (Signal dom WishboneM2S))
singleMasterInterconnectC variant
  | variant == LazyUnzip = goLazy
  | otherwise            = goFixed
 where
  -- Culprit 1: clash-prelude 1.6.4's unzip = (map fst xs, map snd xs). The memory
  -- map half is only demanded at the end of the simulation; until then its
  -- @map fst xs@ / @map fst (map snd xs)@ thunks hold @xs@, i.e. the heads of the
  -- slaves' S2M streams, so every simulated cycle of those streams stays live.
  goLazy (m2s, unzip -> (prefixes, unzip -> (slaveMms, s2ms))) =
    wire m2s prefixes s2ms (zip prefixes slaveMms)
  -- The fix: the single-pass unzip with a lazy pattern. Forcing s2ms evaluates
  -- the pairs, and the memory-map half is left holding selector thunks the GC
  -- short-cuts, so it no longer refers to the input vector.
  goFixed (m2s, unzipSinglePass -> (prefixes, unzipSinglePass -> (slaveMms, s2ms))) =
    wire m2s prefixes s2ms (zip prefixes slaveMms)
  wire m2s prefixes s2ms memMap = ((memMap, s2m), map (\i -> (!! i) <$> m2ss) indicesI)
   where
    (s2m, m2ss) = singleMasterInterconnect variant prefixes m2s (bundle s2ms)

------------------------------------------------------------------------------
-- registerWb slave

-- | A 32-bit register at offset 0 of its region (aliased over the region),
-- readable and writable by the circuit (output / Maybe input) and over the bus.
-- Byte selects are honoured; on a simultaneous write the priority decides.
-- Acknowledges in the same cycle.
registerWb ::
  HiddenClockResetEnable dom =>
  Priority ->
  BitVector 32 ->
  Signal dom WishboneM2S ->
  Signal dom (Maybe (BitVector 32)) ->
  (Signal dom (BitVector 32), Signal dom WishboneS2M)
registerWb prio initVal m2s circuitWrite = (reg, s2m)
 where
  reg = register initVal (nextReg <$> reg <*> m2s <*> circuitWrite)
  s2m = respond <$> reg <*> m2s
  respond r WishboneM2S{..} = emptyWishboneS2M{acknowledge = busCycle && strobe, readData = r}
  nextReg r WishboneM2S{..} cw =
    let busWrite = busCycle && strobe && writeEnable
        merged   = pack (zipWith3 (\s new old -> if s then new else old)
                            (unpack busSelect :: Vec 4 Bool)
                            (unpack writeData :: Vec 4 (BitVector 8))
                            (unpack r :: Vec 4 (BitVector 8)))
    in case prio of
         CircuitPriority  -> case cw of
                               Just x  -> x
                               Nothing -> if busWrite then merged else r
         WishbonePriority -> if busWrite then merged else case cw of
                                                            Just x  -> x
                                                            Nothing -> r

-- | The circuit side writes slave i when the cycle counter's low five bits equal 8i+3.
circuitWrites :: Unsigned 32 -> Vec NSlaves (Maybe (BitVector 32))
circuitWrites c = map wr indicesI
 where
  wr :: Index NSlaves -> Maybe (BitVector 32)
  wr i | (c .&. 31) == 8 * fromIntegral i + 3 = Just (pack (c * 0x9E3779B1 + fromIntegral i))
       | otherwise                           = Nothing

------------------------------------------------------------------------------
-- Pseudo-random master + scoreboard

xorshift64 :: Word64 -> Word64
xorshift64 x0 = x3
 where
  x1 = x0 `xor` (x0 `shiftL` 13)
  x2 = x1 `xor` (x1 `shiftR` 7)
  x3 = x2 `xor` (x2 `shiftL` 17)

-- | One pseudo-random word per cycle.
randomWords :: Word64 -> [Word64]
randomWords seed = P.iterate xorshift64 (if seed == 0 then 0x9E3779B97F4A7C15 else seed)

-- | Length of the per-cycle lookahead vector (culprit 3).
type LookN = 16

data MState = MState
  { msReq        :: WishboneM2S   -- lazy on purpose: the request register
  , msShadow     :: !(Vec NSlaves (BitVector 32))
  , msDone       :: !Word64
  , msReads      :: !Word64
  , msErrs       :: !Word64
  , msMismatches :: !Word64
  , msLook       :: Vec LookN Word64  -- lazy on purpose: the lookahead register
  } deriving (Generic, NFDataX)

data Stats = Stats
  { stDone       :: !Word64
  , stReads      :: !Word64
  , stErrs       :: !Word64
  , stMismatches :: !Word64
  , stLook       :: Word64   -- last lookahead word (demanded only at the end)
  }

forceElems :: Vec n a -> b -> b
forceElems v b = foldr seq b v

forceSpine :: Vec n a -> b -> b
forceSpine v b = foldr (\_ r -> r) () v `seq` b

master ::
  HiddenClockResetEnable dom =>
  Variant ->
  Vec NSlaves Prefix ->
  Signal dom Word64 ->
  Signal dom WishboneS2M ->
  Signal dom (Vec NSlaves (Maybe (BitVector 32))) ->
  (Signal dom WishboneM2S, Signal dom Stats)
master variant prefixes rnd s2m cws =
  unbundle (moore step out s0 (bundle (rnd, s2m, cws)))
 where
  s0 = MState emptyWishboneM2S (repeat 0) 0 0 0 0 (repeat 1)
  out s = (msReq s, Stats (msDone s) (msReads s) (msErrs s) (msMismatches s) (last (msLook s)))
  strictIfFixed | variant == LazyRecordUpdate = id
                | otherwise                   = strictM2S

  step MState{..} (r, resp, cw) = forceElems shadow' (forceLook look' s')
   where
    -- Culprit 3: each cycle a LookN-word lookahead of the xorshift sequence,
    -- seeded from the previous lookahead, is held in the state. With the
    -- unshared iterate (a :> map f (a :> map f ...)) the vector's structure is
    -- O(LookN^2) nested map thunks, nothing forces the words, and the seed
    -- (last of the previous vector) keeps the previous cycle's thunks alive:
    -- the pending computations of every cycle accumulate. The fix: the
    -- directly recursive, strict iterate plus forcing the words.
    look' = iterateV variant SNat xorshift64 (last msLook `xor` r)
    forceLook | variant == UnsharedIterate = forceSpine
              | otherwise                  = forceElems
    req@WishboneM2S{..} = msReq
    active = busCycle && strobe
    target = elemIndex (unpack (slice d31 d28 addr)) prefixes
    -- scoreboard: every response is checked against the model
    ok = case target of
      Nothing -> err resp && not (acknowledge resp)
      Just i  -> acknowledge resp && not (err resp)
                   && (writeEnable || readData resp == msShadow !! i)
    isRead = active && P.maybe False (const True) target && not writeEnable
    isErr = active && target == Nothing
    byteMask = pack (map (\s -> if s then 0xFF else 0 :: BitVector 8)
                         (unpack busSelect :: Vec 4 Bool))
    shadow' = imap model msShadow
    model i old =
      let busW = active && writeEnable && target == Just i
          merged = (writeData .&. byteMask) .|. (old .&. complement byteMask)
      in case (slavePriorities !! i, cw !! i) of
           (CircuitPriority, Just x)  -> x
           (WishbonePriority, Just x) -> if busW then merged else x
           (_, Nothing)               -> if busW then merged else old
    -- next request, decided by this cycle's random word
    issue = (r `shiftR` 13) .&. 7 /= 0
    unmapped = r .&. 15 < 2
    slaveIx = fromIntegral ((r `shiftR` 4) .&. 3) :: Index NSlaves
    prefix | unmapped  = 5 + fromIntegral (((r `shiftR` 4) .&. 0xFFFF) `mod` 11)
           | otherwise = prefixes !! slaveIx
    newAddr = pack (prefix :: Prefix) ++# (0 :: BitVector 28)
    we = testBit r 8
    startLock = testBit r 14 && not we
    -- Culprit 2: a lazy record update of the previous request. In the leaky
    -- variant nobody ever reads `lock`, so each cycle's thunk keeps the previous
    -- cycle's record (and its S2M response) alive. `strictM2S` is the fix.
    req' = strictIfFixed $
      (updateM2SAddr newAddr req)
        { writeData   = slice d63 d32 r
        , busSelect   = slice d12 d9 r
        , writeEnable = we
        , busCycle    = issue
        , strobe      = issue
        , lock        = (lock && not (err resp)) || startLock
        }
    s' = MState
      { msReq        = req'
      , msShadow     = shadow'
      , msDone       = if active then msDone + 1 else msDone
      , msReads      = if isRead then msReads + 1 else msReads
      , msErrs       = if isErr then msErrs + 1 else msErrs
      , msMismatches = if active && not ok then msMismatches + 1 else msMismatches
      , msLook       = look'
      }

------------------------------------------------------------------------------
-- The system

-- NOINLINE: inlined into main, GHC turns the testbench's memory-map binding into a
-- thunk over the whole interconnect output (a tuple of evaluated signals), so
-- every variant retained all streams; kept apart, it is a selector the GC
-- short-cuts, and only the variant's own culprit retains anything.
{-# NOINLINE system #-}
{-# NOINLINE singleMasterInterconnectC #-}
system :: Variant -> [Word64] -> (Vec NSlaves (Prefix, MemMapEntry), Signal System (Stats, BitVector 32))
system variant rnds = (memMap, bundle (stats, checksum))
 where
  sys :: (HiddenClockResetEnable System => r) -> r
  sys = withClockResetEnable clockGen resetGen enableGen
  prefixes = slavePrefixes variant
  cnt = sys (register (0 :: Unsigned 32) (cnt + 1))
  cws = circuitWrites <$> cnt
  (m2s, stats) = sys master variant prefixes (fromList rnds) s2m cws
  slaveIns = zip prefixes (zip mms s2ms)
  mms = map (\i -> MemMapEntry ("registerWb" P.++ show i) 4) (indicesI :: Vec NSlaves (Index NSlaves))
  ((memMap, s2m), m2ss) = singleMasterInterconnectC variant (m2s, slaveIns)
  (regs, s2ms) = unzipSinglePass (zipWith3 slave indicesI slavePriorities m2ss)
  slave i prio m = sys registerWb prio 0 m ((!! (i :: Index NSlaves)) <$> cws)
  -- the circuit reads its registers every cycle
  checksum = fold xor <$> bundle regs

------------------------------------------------------------------------------

main :: IO ()
main = do
  marker "init"
  args <- getArgs
  (variant, cycles, seed) <- case args of
    (v : c : rest)
      | Just var <- parseVariant v
      , Just n <- readMaybe c
      , n > 0
      , Just sd <- case rest of
                     []  -> Just 7
                     [s] -> readMaybe s
                     _   -> Nothing
      -> return (var, n :: Int, sd :: Word64)
    _ -> do
      hPutStrLn stderr "usage: RegisterWb (fixed|lazy_unzip|lazy_record_update|unshared_iterate) CYCLES [SEED]"
      exitWith (ExitFailure 2)
  -- A fixed warm-up, not a fraction of the run: the bus and the slaves settle within a few
  -- cycles, and a steady phase that started later in a longer run would put a leak's first
  -- violating census, and so membound's verdict, later in proportion to the run's length.
  let steadyAt = min warmupCycles (cycles `div` 10)
  case system variant (randomWords seed) of
    (memMap, out) -> do
      (Stats{..}, chk) <- run steadyAt cycles out
      marker "end"
      putStrLn ("variant: " P.++ show variant P.++ " cycles: " P.++ show cycles P.++ " seed: " P.++ show seed)
      putStrLn ("memory map: " P.++ show (toList memMap))
      putStrLn ("transactions: " P.++ show stDone P.++ " reads: " P.++ show stReads
                P.++ " errs: " P.++ show stErrs P.++ " checksum: " P.++ show chk
                P.++ " lookahead: " P.++ show stLook)
      putStrLn ("mismatches: " P.++ show stMismatches)
      if stMismatches /= 0 then exitWith (ExitFailure 1) else return ()

-- | Cycles before the "steady" marker (fewer in a run shorter than ten times this).
warmupCycles :: Int
warmupCycles = 300

-- | Drive the simulation: force one cycle at a time, drop consumed cells.
run :: Int -> Int -> Signal System (Stats, BitVector 32) -> IO (Stats, BitVector 32)
run steadyAt cycles = go 0 0
 where
  go :: Int -> BitVector 32 -> Signal System (Stats, BitVector 32) -> IO (Stats, BitVector 32)
  go !i !acc ((st, c) :- rest)
    | i + 1 >= cycles = return (st, acc `xor` c)
    | otherwise = do
        let !acc' = acc `xor` c
        if i + 1 == steadyAt then marker "steady" else return ()
        stDone st `seq` go (i + 1) acc' rest
