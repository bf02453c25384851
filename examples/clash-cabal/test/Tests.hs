-- | The counter's test-suite, as a team would have it: one tasty test per knob, each
-- simulating 20,000 cycles and checking the last output. membound runs one of them with
-- tasty's own pattern (@-p Fixed@) and watches the heap while it runs.
module Main (main) where

import Clash.Prelude
import Counter
import Data.Typeable (Typeable)
import Membound (marker)
import System.Environment (lookupEnv, setEnv)
import System.Posix.Env (clearEnv)
import Test.Tasty
import Test.Tasty.Providers
import qualified Prelude as P

-- | Cycles each test simulates.
cycles :: Int
cycles = 20000

main :: IO ()
main = do
  -- tasty 1.4 looks each of its options up in a fresh copy of the whole environment and keeps
  -- the copies until the option is read: the heap would depend on the shell the suite runs
  -- in. It runs with only what membound's markers need (no TASTY_* variables).
  markers <- lookupEnv "MEMBOUND_MARKERS"
  clearEnv
  mapM_ (setEnv "MEMBOUND_MARKERS") markers
  defaultMain (testGroup "counter" [counterTest "Fixed" FixedKnob, counterTest "Leaky" LeakyKnob])

counterTest :: String -> Knob -> TestTree
counterTest name knob = singleTest name (Run knob)

-- | One simulation: tasty core has no assertions of its own, so the test is its own 'IsTest'.
newtype Run = Run Knob
  deriving (Typeable)

instance IsTest Run where
  run _ (Run knob) _ = do
    got <- drive (simulateCounter knob)
    return $
      if got P.== expected
        then testPassed ""
        else testFailed ("last output " P.++ show got P.++ ", expected " P.++ show expected)
  testOptions = return []

-- | The inputs cycle through 1..200; the total wraps at 16 bits. The output of cycle i is the
-- total of the inputs before it, less the first: the register keeps its reset value through
-- the reset cycle.
expected :: Unsigned 16
expected = fromIntegral (P.sum (P.drop 1 (P.take cycles (P.cycle [1 .. 200 :: Int]))))

-- | Consumes 'cycles' outputs, marking "steady" a tenth of the way in and "end" at the end.
drive :: [Unsigned 16] -> IO (Unsigned 16)
drive = go 0 0
  where
    go i acc xs
      | i P.== cycles = marker "end" >> return acc
      | otherwise = case xs of
          [] -> return acc
          (x : rest) -> do
            if i P.== cycles `P.div` 10 then marker "steady" else return ()
            x `seq` go (i P.+ 1) x rest
